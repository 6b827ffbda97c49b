"""Serve a sandbox over HTTP/1.1 with keep-alive, in the foreground or in a thread (for tests)."""

from __future__ import annotations

import io
import ssl
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from sandbox.app import Sandbox
from sandbox.config import Settings
from sandbox.streams.server import GrpcServer

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment


class KeepAliveHandler(WSGIRequestHandler):
    """HTTP/1.1 with keep-alive, so clients reuse connections as they would with the real exchange
    (the gateway benchmark measures exactly that, over TLS too). Werkzeug's server closes every
    connection because it cannot tell where an unread request body ends (and after each answer it
    reads whatever the socket holds, which would swallow the next request). This handler reads
    each body whole before the app runs and hands werkzeug an empty stream for the rest of the
    exchange, so the next request is left where it should be."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out as separate writes: with Nagle's algorithm on, a kept-alive
    # connection waits for the client's delayed ACK (40 ms) before every body.
    disable_nagle_algorithm = True
    max_body = 16 * 1024 * 1024

    access_log = False  # --verbose turns it on
    _keep_alive = False

    def make_environ(self) -> WSGIEnvironment:
        environ = super().make_environ()
        self._keep_alive = not environ.get("wsgi.input_terminated")  # a chunked body: close
        if self._keep_alive:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            if 0 <= length <= self.max_body:
                environ["wsgi.input"] = io.BytesIO(self.rfile.read(length))
                self.rfile = io.BytesIO()  # werkzeug's drain after the answer finds nothing
            else:
                self._keep_alive = False
        return environ

    def run_wsgi(self) -> None:
        connection_stream = self.rfile
        try:
            super().run_wsgi()
        finally:
            self.rfile = connection_stream

    def send_header(self, keyword: str, value: str) -> None:
        if keyword.lower() == "connection" and value.lower() == "close" and self._keep_alive:
            return  # the body was read whole: the connection can carry the next request
        super().send_header(keyword, value)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.access_log:
            super().log_request(code, size)


def _tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    # No TLS 1.3 session tickets: sent after the first answer, they make an idle pooled connection
    # look readable, and clients (urllib3) then take it for dropped and open a new one each call.
    context.num_tickets = 0
    return context


class SandboxServer:
    """A running sandbox: `.url`, `.sandbox` (state, settings, faults), `.stop()`."""

    def __init__(self, settings: Settings) -> None:
        if (settings.tls_cert is None) != (settings.tls_key is None):
            raise ValueError("TLS needs both the certificate and its key")
        self._httpd: BaseWSGIServer = make_server(
            settings.host,
            settings.port,
            None,  # type: ignore[arg-type]  # the app needs the real port first
            threaded=True,
            request_handler=KeepAliveHandler,
            ssl_context=_tls_context(settings.tls_cert, settings.tls_key)
            if settings.tls_cert and settings.tls_key
            else None,
        )
        settings.port = self._httpd.server_port
        self.sandbox = Sandbox(settings)
        self._httpd.app = self.sandbox
        self._thread: threading.Thread | None = None
        # The streams, on a second port of the same process and store (--grpc-port).
        self.grpc: GrpcServer | None = None
        if settings.grpc_port is not None:
            self.grpc = GrpcServer(self.sandbox.env, settings.host, settings.grpc_port)
            settings.grpc_port = self.grpc.port

    @property
    def url(self) -> str:
        return self.sandbox.settings.base_url

    def serve_forever(self) -> None:
        self.sandbox.start_background()
        if self.grpc is not None:
            self.grpc.start()
        try:
            self._httpd.serve_forever()
        finally:
            if self.grpc is not None:
                self.grpc.stop()
            self.sandbox.stop_background()

    def start(self) -> SandboxServer:
        self.sandbox.start_background()
        if self.grpc is not None:
            self.grpc.start()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="sandbox-http",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.grpc is not None:
            self.grpc.stop()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.sandbox.stop_background()
        self.sandbox.store.close()


def start_in_thread(settings: Settings) -> SandboxServer:
    return SandboxServer(settings).start()
