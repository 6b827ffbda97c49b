"""A client-side token bucket per endpoint family, at the exchange's documented per-firm rates
(API.md 7.2), so a nightly job slows down instead of being throttled.

The buckets are per process: several web workers each keep their own, so together they can exceed
a limit; the exchange's 429 (with Retry-After) remains the backstop for that case.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from backoffice.gateway.errors import RateLimited


@dataclass(frozen=True)
class Limit:
    rate: float  # tokens per second
    burst: float  # bucket capacity


# Families and their documented limits. Where the docs give no burst, the bucket holds one token,
# so no window of any length sees more than one call above the documented rate.
LIMITS: dict[str, Limit] = {
    "ledger": Limit(rate=0.5, burst=5),  # balance and position ledgers: 0.5/s burst 5
    "report_search": Limit(rate=12 / 60, burst=1),  # SearchOrders/Executions/Trades: 12/min
    "refdata": Limit(rate=6 / 60, burst=1),  # ListInstruments: 6/min
    "settlement": Limit(rate=10, burst=1),  # GetInstrumentSettlement: 10/s
    "transfers": Limit(rate=4, burst=1),  # CashMovementService: <= 5/s; the docs advise 4/s
    "cancel": Limit(rate=90, burst=90),  # CancelOrder, tier 1: 90/s, capacity = rate
}


class TokenBucket:
    def __init__(self, limit: Limit, *, clock: Callable[[], float]) -> None:
        self.limit = limit
        self._clock = clock
        self._tokens = limit.burst
        self._stamp = clock()

    def reserve(self) -> float:
        """Take one token (possibly borrowing against the future); return how long to wait."""
        now = self._clock()
        self._tokens = min(self.limit.burst, self._tokens + (now - self._stamp) * self.limit.rate)
        self._stamp = now
        self._tokens -= 1
        if self._tokens >= 0:
            return 0.0
        return -self._tokens / self.limit.rate

    def give_back(self) -> None:
        self._tokens += 1


class RateLimiter:
    def __init__(
        self,
        *,
        enabled: bool = True,
        limits: dict[str, Limit] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.enabled = enabled
        self._limits = LIMITS if limits is None else limits
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._buckets: dict[str, TokenBucket] = {}

    def acquire(self, family: str | None, *, max_wait: float) -> float:
        """Wait for the family's next slot; return the seconds waited. A wait longer than
        `max_wait` (the call policy's) is refused with RateLimited before anything is sent."""
        if not self.enabled or family is None or family not in self._limits:
            return 0.0
        with self._lock:
            bucket = self._buckets.get(family)
            if bucket is None:
                bucket = self._buckets[family] = TokenBucket(
                    self._limits[family], clock=self._clock
                )
            wait = bucket.reserve()
            if wait > max_wait:
                bucket.give_back()
                raise RateLimited(
                    f"client-side limit for {family}: next slot in {wait:.1f}s",
                    retry_after=wait,
                    code="client_rate_limited",
                )
        if wait > 0:
            self._sleep(wait)
        return wait
