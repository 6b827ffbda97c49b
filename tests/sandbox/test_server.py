"""The sandbox's HTTP server: connections kept alive across requests (as a real API's are, and as
the gateway's pooled session relies on), in plain HTTP and over TLS."""

from __future__ import annotations

import json
import socket
import ssl
from pathlib import Path

from sandbox.tls import self_signed


def _two_requests_on_one_connection(sock: socket.socket) -> list[bytes]:
    body = json.dumps({"note": "a body the handler never reads, left for the server to skip"})
    first = (
        "POST /_sandbox/tick HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n{body}"
    )
    second = "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    sock.sendall((first + second).encode())  # pipelined: the second right behind the first
    sock.settimeout(5)
    received = b""
    while received.count(b"HTTP/1.1 ") < 2 or not received.endswith(b'{"status": "ok"}'):
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection after: {received!r}"
        received += chunk
    return [part for part in received.split(b"HTTP/1.1 ") if part]


def test_a_connection_carries_request_after_request(sandbox):
    port = int(sandbox.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as sock:
        answers = _two_requests_on_one_connection(sock)

    assert [answer.split(b"\r\n", 1)[0] for answer in answers] == [b"200 OK", b"200 OK"]
    assert all(b"Connection: close" not in answer for answer in answers)


def test_over_tls_too(sandbox_factory, tmp_path: Path):
    cert, key = self_signed(tmp_path / "tls")
    server = sandbox_factory(tls_cert=cert, tls_key=key)
    port = int(server.url.rsplit(":", 1)[1])
    context = ssl.create_default_context(cafile=str(cert))
    with (
        socket.create_connection(("127.0.0.1", port)) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as sock,
    ):
        answers = _two_requests_on_one_connection(sock)

    assert [answer.split(b"\r\n", 1)[0] for answer in answers] == [b"200 OK", b"200 OK"]
