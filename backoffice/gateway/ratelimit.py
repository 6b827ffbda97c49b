"""Client-side rate limits per endpoint family, at the exchange's documented per-firm rates
(API.md 7.2), so a job slows down instead of being throttled.

The limits are the firm's, whichever process calls: `SharedRateLimiter` keeps each family's
schedule in one database row, so web workers and commands together stay under it (transfers at 4
a second across the whole integration, report searches at 12 a minute). `RateLimiter` keeps the
same buckets in memory, for one process alone (tests, benchmarks). The exchange's 429 (with
Retry-After) remains the backstop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from django.db import connection

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
    "download": Limit(rate=5 / 60, burst=1),  # ledger and valuation downloads: ~5/min
    "settlement": Limit(rate=10, burst=1),  # GetInstrumentSettlement: 10/s
    "transfers": Limit(rate=4, burst=1),  # CashMovementService: <= 5/s; the docs advise 4/s
    "cancel": Limit(rate=90, burst=90),  # CancelOrder, tier 1: 90/s, capacity = rate
}


class Limiter(Protocol):
    enabled: bool

    def acquire(self, family: str | None, *, max_wait: float) -> float:
        """Wait for the family's next slot; return the seconds waited. A wait longer than
        `max_wait` is refused with RateLimited before anything is sent."""
        ...


def _over_budget(family: str, wait: float) -> RateLimited:
    return RateLimited(
        f"client-side limit for {family}: next slot in {wait:.1f}s",
        retry_after=wait,
        code="client_rate_limited",
    )


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
                raise _over_budget(family, wait)
        if wait > 0:
            self._sleep(wait)
        return wait


# One statement reserves the next slot of a family and moves its schedule on, unless the wait
# would exceed the caller's budget; concurrent callers queue on the row's lock, so each sees the
# schedule the one before it left. The schedule is a GCRA "theoretical arrival time": a slot
# opens every 1/rate seconds, and up to `burst` calls may go at once after a quiet spell.
_RESERVE = """
INSERT INTO gateway_ratelimitslot (key, tat) VALUES (%(key)s, %(now)s + %(interval)s)
ON CONFLICT (key) DO UPDATE SET tat =
    CASE WHEN gateway_ratelimitslot.tat > %(now)s THEN gateway_ratelimitslot.tat ELSE %(now)s END
    + %(interval)s
WHERE CASE WHEN gateway_ratelimitslot.tat > %(now)s THEN gateway_ratelimitslot.tat ELSE %(now)s END
    - %(allowance)s - %(now)s <= %(max_wait)s
RETURNING tat
"""


class SharedRateLimiter:
    """The firm's limits shared by every process through the database (one row per family, in
    autocommit: the gateway never calls inside a transaction). `scope` names the firm, since the
    exchange counts per firm. Slot times are wall-clock seconds; hosts keep their clocks by NTP,
    and a skew of a few milliseconds narrows a 250 ms spacing by as much at most."""

    def __init__(
        self,
        *,
        scope: str,
        enabled: bool = True,
        limits: dict[str, Limit] | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.scope = scope
        self.enabled = enabled
        self._limits = LIMITS if limits is None else limits
        self._clock = clock
        self._sleep = sleep

    def acquire(self, family: str | None, *, max_wait: float) -> float:
        if not self.enabled or family is None or family not in self._limits:
            return 0.0
        limit = self._limits[family]
        interval = 1 / limit.rate
        allowance = (limit.burst - 1) * interval
        key = f"{self.scope}/{family}"[:200]
        now = self._clock()
        values: dict[str, str | float] = {
            "key": key,
            "now": now,
            "interval": interval,
            "allowance": allowance,
            "max_wait": max_wait,
        }
        with connection.cursor() as cursor:
            cursor.execute(_RESERVE, values)
            row = cursor.fetchone()
            if row is None:
                cursor.execute("SELECT tat FROM gateway_ratelimitslot WHERE key = %s", [key])
                (tat,) = cursor.fetchone()
                raise _over_budget(family, max(float(tat), now) - allowance - now)
        wait = max(0.0, float(row[0]) - interval - allowance - now)
        if wait > 0:
            self._sleep(wait)
        return wait
