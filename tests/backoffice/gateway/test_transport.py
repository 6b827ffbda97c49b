"""The real session over loopback: no environment proxies, no redirects, timeouts, dropped sockets."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
from requests.adapters import HTTPAdapter
from werkzeug.serving import make_server
from werkzeug.wrappers import Request as WsgiRequest
from werkzeug.wrappers import Response as WsgiResponse

from backoffice.gateway.errors import ConnectionFailed, Timeout
from backoffice.gateway.transport import Request, RequestsTransport, build_session


@WsgiRequest.application
def app(request: WsgiRequest) -> WsgiResponse:
    if request.path == "/redirect":
        return WsgiResponse("", status=302, headers={"Location": "/elsewhere"})
    if request.path == "/slow":
        time.sleep(0.5)
    return WsgiResponse(
        json.dumps({"ok": True, "ua": request.headers.get("User-Agent", "")}),
        content_type="application/json",
    )


@pytest.fixture(scope="module")
def server():
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


def test_the_session_ignores_the_environment_and_pools(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    session = build_session()

    assert session.trust_env is False
    adapter = session.get_adapter("https://x")
    assert isinstance(adapter, HTTPAdapter)
    assert adapter.max_retries.total == 0


def test_one_session_serves_every_call(server):
    transport = RequestsTransport()

    first = transport.send(Request("GET", f"{server}/a", timeout=(1, 5)))
    session = transport.session
    second = transport.send(Request("GET", f"{server}/b", timeout=(1, 5)))

    assert (first.status, second.status) == (200, 200)
    assert transport.session is session
    assert b"polymarket-backoffice-gateway/1" in first.body


def test_a_redirect_is_returned_not_followed(server):
    response = RequestsTransport().send(Request("GET", f"{server}/redirect", timeout=(1, 5)))

    assert response.status == 302
    assert response.headers["location"] == "/elsewhere"


def test_a_slow_answer_times_out(server):
    with pytest.raises(Timeout):
        RequestsTransport().send(Request("GET", f"{server}/slow", timeout=(1, 0.1)))


def test_a_refused_connection_is_a_connection_failure():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the socket closes

    with pytest.raises(ConnectionFailed) as caught:
        RequestsTransport().send(Request("GET", f"http://127.0.0.1:{port}/", timeout=(1, 1)))

    assert caught.value.retryable is True
    assert str(port) not in caught.value.message  # no URL (which could carry ids) in the error
