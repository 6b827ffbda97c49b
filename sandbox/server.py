"""Serve a sandbox over HTTP/1.1 with keep-alive, in the foreground or in a thread (for tests)."""

from __future__ import annotations

import threading

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from sandbox.app import Sandbox
from sandbox.config import Settings
from sandbox.streams.server import GrpcServer


class KeepAliveHandler(WSGIRequestHandler):
    # HTTP/1.1 so clients reuse connections; the gateway benchmark depends on it.
    protocol_version = "HTTP/1.1"

    access_log = False  # --verbose turns it on

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.access_log:
            super().log_request(code, size)


class SandboxServer:
    """A running sandbox: `.url`, `.sandbox` (state, settings, faults), `.stop()`."""

    def __init__(self, settings: Settings) -> None:
        self._httpd: BaseWSGIServer = make_server(
            settings.host,
            settings.port,
            None,  # type: ignore[arg-type]  # the app needs the real port first
            threaded=True,
            request_handler=KeepAliveHandler,
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
