"""When to try again, and how long to wait first (API.md 7.1: 0, 1, 2, 4, 8 s, at most 5 attempts)."""

from __future__ import annotations

import random

JITTER = 0.2  # +-20 %, as the transfers page advises


def backoff_delay(attempt: int, *, base: float, cap: float) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based): base * 2^(n-1), capped,
    with +-20 % jitter so that many clients do not retry in step."""
    delay = min(cap, base * (2 ** (attempt - 1)))
    return max(0.0, delay * random.uniform(1 - JITTER, 1 + JITTER))  # noqa: S311  (not security)
