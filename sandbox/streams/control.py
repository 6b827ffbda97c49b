"""The open streams of a sandbox: the per-firm cap, the operator's drop, and the resume tokens.

The REST side (`/_sandbox/streams`) and the gRPC servicers share one `Streams`: an operator can
list the open streams, drop every one of them (each ends UNAVAILABLE, as when the exchange's load
balancer goes away) or expire every resume token issued so far.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from typing import Any

from sandbox import wire
from sandbox.store import Store
from sandbox.streams.tokens import Tokens


class CapReached(Exception):
    """The firm already has as many open streams as it may."""


@dataclass
class OpenStream:
    id: int
    firm_id: str
    method: str
    started: str
    batches: int = 0
    events: int = 0
    # Set by `drop_all` or by the client going away; the stream's loop ends at its next look.
    dropped: bool = False
    closed: bool = False

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "firmId": self.firm_id,
            "method": self.method,
            "started": self.started,
            "batches": self.batches,
            "events": self.events,
        }


class Streams:
    def __init__(self, store: Store, *, cap: int, token_ttl: float) -> None:
        self.store = store
        self.cap = cap
        self.tokens = Tokens(store, token_ttl)
        self._open: dict[int, OpenStream] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def open(self, firm_id: str, method: str) -> OpenStream:
        with self._lock:
            if sum(1 for s in self._open.values() if s.firm_id == firm_id) >= self.cap:
                raise CapReached(firm_id)
            stream = OpenStream(
                id=next(self._ids), firm_id=firm_id, method=method, started=wire.ts()
            )
            self._open[stream.id] = stream
            return stream

    def close(self, stream: OpenStream) -> None:
        with self._lock:
            self._open.pop(stream.id, None)

    def listing(self) -> list[dict[str, Any]]:
        with self._lock:
            return [s.public() for s in self._open.values()]

    def drop_all(self) -> int:
        with self._lock:
            streams = list(self._open.values())
        for stream in streams:
            stream.dropped = True
        self.store.notify()  # wake the streams waiting for news, so they see the flag now
        return len(streams)

    def client_gone(self, stream: OpenStream) -> None:
        stream.closed = True
        self.store.notify()
