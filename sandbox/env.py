"""What handlers and background tasks may use of a running sandbox, and nothing more.

`Sandbox` (sandbox.app) builds one `Env` and hands it to every handler (through `Ctx`) and every
background task; no module below the app needs the app itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sandbox.auth import TokenAuthority
from sandbox.config import Settings
from sandbox.faults import Faults
from sandbox.ratelimit import RateLimiter
from sandbox.store import Store
from sandbox.streams.control import Streams


@dataclass(frozen=True)
class Env:
    store: Store
    settings: Settings
    faults: Faults
    auth: TokenAuthority
    limiter: RateLimiter
    # The open gRPC streams and their resume tokens (sandbox.streams).
    streams: Streams
    # Tell the background worker there is due work (it looks at once instead of at its next pass).
    wake: Callable[[], None]
    # Run one pass of the background work in the calling thread (/_sandbox/tick).
    tick: Callable[[], None]
