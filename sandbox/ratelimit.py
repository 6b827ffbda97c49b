"""Per-firm token buckets with the documented rates (API.md 5.5.2, 7.2); off for benchmarks."""

from __future__ import annotations

import math
import threading
import time

# bucket -> (tokens per second, capacity). Order entry uses tier T1; capacity = rate there.
LIMITS: dict[str, tuple[float, float]] = {
    "insert_order": (30.0, 30.0),
    "cancel_order": (90.0, 90.0),
    "replace_order": (30.0, 30.0),
    "order_list": (50.0, 50.0),
    "instruments": (6 / 60, 6.0),
    "symbols": (6 / 60, 6.0),
    "orderbook": (12 / 60, 12.0),
    "reports": (12 / 60, 12.0),
    "trade_stats": (60 / 60, 60.0),
    "settlement": (10.0, 10.0),
    "ledger": (0.5, 5.0),
    "ledger_download": (1 / 12, 1.0),
    "cash": (5.0, 5.0),
    "public": (20.0, 20.0),
    "default": (10.0, 10.0),
}


class RateLimiter:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, who: str, bucket: str | None) -> int | None:
        """None if the call may proceed, else the seconds to wait (for Retry-After)."""
        if not self.enabled:
            return None
        name = bucket or "default"
        rate, capacity = LIMITS.get(name, LIMITS["default"])
        key = (who, name)
        now = time.monotonic()
        with self._lock:
            tokens, stamp = self._buckets.get(key, (capacity, now))
            tokens = min(capacity, tokens + (now - stamp) * rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return None
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1 - tokens) / rate))

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
