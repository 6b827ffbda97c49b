"""The app served as in production: gunicorn with its config from deploy/, production settings,
behind the SSO proxy (here: loopback, trusted), answering the health check, a signed-in page and
every security header."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.db import connection

from tests.backoffice.test_settings import PRODUCTION

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")


def database_url() -> str:
    """The suite's own test database, which the server process must share."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture
def server(transactional_db) -> Iterator[str]:
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    env |= {
        **PRODUCTION,
        "ALLOWED_HOSTS": "backoffice.example.com",
        "SSO_TRUSTED_PROXIES": "127.0.0.1/32",
        "DATABASE_URL": database_url(),
        "BACKOFFICE_BIND": "127.0.0.1:0",  # any free port: gunicorn says which
        "WEB_CONCURRENCY": "2",
        # Served from the apps' folders: a deployment runs collectstatic first.
        "STATIC_MANIFEST": "false",
    }
    process = subprocess.Popen(  # noqa: S603  (our own virtualenv's gunicorn)
        [str(GUNICORN), "-c", "deploy/gunicorn_conf.py"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = _listening_at(process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stderr:
            process.stderr.close()


def _listening_at(process: subprocess.Popen[str]) -> str:
    """Reads gunicorn's log until it names its address (bounded: gunicorn starts in a second)."""
    assert process.stderr is not None
    deadline = time.monotonic() + 60
    seen = []
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        seen.append(line)
        match = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", line)
        if match:
            return match.group(1)
        if not line and process.poll() is not None:
            break
    raise AssertionError("gunicorn did not start:\n" + "".join(seen))


PROXY_HEADERS = {"Host": "backoffice.example.com", "X-Forwarded-Proto": "https"}


def test_gunicorn_answers_the_health_check(server):
    response = requests.get(
        f"{server}/healthz", headers={"Host": "backoffice.example.com"}, timeout=10
    )

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_a_person_the_proxy_vouches_for_gets_their_page_with_every_security_header(server):
    response = requests.get(
        f"{server}/",
        headers={
            **PROXY_HEADERS,
            "X-Forwarded-User": "alice",
            "X-Forwarded-Email": "alice@corp.example",
            "X-Forwarded-Groups": "backoffice-support",
        },
        timeout=10,
        allow_redirects=False,
    )

    assert response.status_code == 200
    assert "Good to see you, alice" in response.text
    headers = response.headers
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["Content-Security-Policy"].startswith("default-src 'self'; script-src 'self'")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    session_cookie = next(c for c in response.cookies if c.name == "sessionid")
    assert session_cookie.secure
    assert session_cookie.has_nonstandard_attr("HttpOnly")


def test_plain_http_is_sent_to_https_and_nobody_unvouched_gets_in(server):
    plain = requests.get(
        f"{server}/", headers={"Host": "backoffice.example.com"}, timeout=10, allow_redirects=False
    )
    anonymous = requests.get(f"{server}/", headers=PROXY_HEADERS, timeout=10, allow_redirects=False)

    assert (plain.status_code, plain.headers["Location"]) == (
        301,
        "https://backoffice.example.com/",
    )
    assert (anonymous.status_code, anonymous.headers["Location"]) == (302, "/signin/?next=/")


def test_static_files_come_from_whitenoise(server):
    response = requests.get(f"{server}/static/css/app.css", headers=PROXY_HEADERS, timeout=10)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/css")


def _unit(path: Path) -> dict[str, str]:
    """A unit file's settings (each key's last value; the units here repeat none)."""
    settings: dict[str, str] = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith(("#", "[")):
            settings[key.strip()] = value.strip()
    return settings


def test_every_systemd_unit_runs_a_command_of_ours_and_the_readme_lists_it():
    from django.core.management import get_commands

    readme = (ROOT / "README.md").read_text()
    production = readme[readme.index("## Production") : readme.index("## Benchmarks")]
    services = sorted((ROOT / "deploy" / "systemd").glob("*.service"))
    assert "backoffice-trading-stream.service" in {s.name for s in services}
    for service in services:
        unit = _unit(service)
        assert f"`{service.name}`" in production, service.name
        assert service.stem in production.split("systemctl enable --now", 1)[1], service.name
        assert (unit["User"], unit["WorkingDirectory"], unit["EnvironmentFile"]) == (
            "backoffice", "/opt/backoffice", "/etc/backoffice/env",
        ), service.name  # fmt: skip
        command = unit["ExecStart"].split()
        assert command[0].startswith("/opt/backoffice/.venv/bin/"), service.name
        if "manage.py" in command:
            assert command[command.index("manage.py") + 1] in get_commands(), service.name
        timer = service.with_suffix(".timer")
        if timer.exists():
            assert unit["Type"] == "oneshot", service.name
        else:  # a long-running service comes back after a crash
            assert unit["Restart"] in {"always", "on-failure"}, service.name
    for timer in (ROOT / "deploy" / "systemd").glob("*.timer"):
        assert timer.with_suffix(".service").exists(), timer.name
