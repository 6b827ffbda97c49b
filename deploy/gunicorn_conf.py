"""gunicorn's settings for the back-office in production (`gunicorn -c deploy/gunicorn_conf.py`).

Behind the SSO proxy, which terminates TLS and is the only client: it reaches us on BACKOFFICE_BIND
and its address is what SSO_TRUSTED_PROXIES names. Settings come from the environment like the
app's own, so one unit file serves every machine.
"""

from __future__ import annotations

import multiprocessing
import os

wsgi_app = "backoffice.wsgi:application"
bind = [os.environ.get("BACKOFFICE_BIND", "127.0.0.1:8000")]
# Synchronous workers: a staff request never waits long on the exchange (the gateway fails
# fast for staff), so a worker per core and one spare serve the office.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
worker_class = "sync"
# Longer than any staff request may take, shorter than the proxy's own timeout.
timeout = int(os.environ.get("BACKOFFICE_WORKER_TIMEOUT", "30"))
graceful_timeout = 20
# A worker is replaced after this many requests, so that no slow leak outlives a day.
max_requests = 2000
max_requests_jitter = 200
# The proxy's headers are read by the app (SSO_TRUSTED_PROXIES), not by gunicorn.
forwarded_allow_ips = ""
limit_request_field_size = 16 * 1024  # room for the proxy's signed assertion
# The access log names the path, never the query string: filters stay out of the log.
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms req=%({x-request-id}o)s'
errorlog = "-"
# No control socket: one shared path in the home directory would be fought over by every instance
# on the machine, and systemd (or a signal) is how this one is controlled.
control_socket_disable = True
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
