"""A partner's gRPC client for the sandbox's streams, built from the contract only (grpcio)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from polymarket.v1 import dropcopy_pb2_grpc, funding_pb2_grpc, order_entry_pb2_grpc

CLOSED = object()


class Streams:
    """Stubs on one channel; `metadata()` carries the partner's bearer token."""

    def __init__(self, port: int, token: str) -> None:
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.token = token
        self.dropcopy = dropcopy_pb2_grpc.DropCopyAPIStub(self.channel)
        self.funding = funding_pb2_grpc.FundingAPIStub(self.channel)
        self.orders = order_entry_pb2_grpc.OrderEntryAPIStub(self.channel)

    def metadata(self, token: str | None = None) -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {token or self.token}")]

    def open(self, rpc: Callable[..., Any], request: Any, **kwargs: Any) -> Reader:
        kwargs.setdefault("metadata", self.metadata())
        return Reader(rpc(request, **kwargs))

    def close(self) -> None:
        self.channel.close()


class Reader:
    """Reads a server stream in a thread, so a test can wait for messages with a timeout."""

    def __init__(self, call: Any) -> None:
        self.call = call
        self.error: grpc.RpcError | None = None
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for message in self.call:
                self._queue.put(message)
        except grpc.RpcError as exc:
            self.error = exc
        self._queue.put(CLOSED)

    def next(self, timeout: float = 10) -> Any:
        """The next message; None once the stream has ended (then `.error` says how)."""
        item = self._queue.get(timeout=timeout)
        if item is CLOSED:
            self._queue.put(CLOSED)
            return None
        return item

    def messages(self, until: Callable[[Any], bool], timeout: float = 10) -> Iterator[Any]:
        """Messages up to and including the first for which `until` holds."""
        while True:
            message = self.next(timeout)
            if message is None:
                raise AssertionError(f"stream ended: {self.error}")
            yield message
            if until(message):
                return

    def code(self, timeout: float = 10) -> grpc.StatusCode:
        """How the stream ended (waits for it)."""
        self._thread.join(timeout)
        assert self.error is not None, "the stream has not failed"
        return self.error.code()

    def cancel(self) -> None:
        self.call.cancel()
        self._thread.join(10)
