"""Instruments' fixed-point scales (API.md 4.5), and the book the gateway keeps of them.

Prices and quantities travel as integers; each instrument's `priceScale` and `fractionalQtyScale`
turn them into dollars and contracts. Reference data may be read only 6 times a minute, so the
gateway remembers each instrument's scales for an hour.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from backoffice.gateway.errors import MalformedResponse

SCALES_TTL_SECONDS = 3600.0


@dataclass(frozen=True)
class Scales:
    """An instrument's fixed-point scales: price = raw / price_scale (a divisor, never an exponent:
    Appendix B 6); contracts = raw / qty_scale (0 or absent means 1: Appendix B 12)."""

    price_scale: int
    qty_scale: int = 1

    @classmethod
    def of(cls, price_scale: int, qty_scale: int | None, where: str) -> Scales:
        if price_scale <= 0:
            raise MalformedResponse(f"{where}: price scale {price_scale} is not positive")
        return _scales(price_scale, qty_scale if qty_scale and qty_scale > 0 else 1)

    def price(self, raw: int) -> Decimal:
        return _quotient(raw, self.price_scale)

    def quantity(self, raw: int) -> Decimal:
        return _quotient(raw, self.qty_scale)

    def notional(self, raw: int) -> Decimal:
        """Notional units (commissions, position cost and realized P&L) in dollars."""
        return _quotient(raw, self.price_scale * self.qty_scale)


# A stream carries every order's scales with each of its executions, and the same few prices and
# quantities again and again: one instance per pair of scales, and each quotient computed once
# (a cache hit costs a fifth of the division; bounded, so a long replay's memory stays flat).
# Decimals are immutable, so one instance serves every caller.
_scales = lru_cache(maxsize=256)(Scales)


@lru_cache(maxsize=16384)
def _quotient(raw: int, divisor: int) -> Decimal:
    return Decimal(raw) / Decimal(divisor)


ScaleLookup = Callable[[str], Scales]


class ScaleBook:
    """Instrument scales by symbol, cached for SCALES_TTL_SECONDS."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._scales: dict[str, tuple[Scales, float]] = {}

    def put(self, symbol: str, scales: Scales) -> None:
        with self._lock:
            self._scales[symbol] = (scales, self._clock())

    def get(self, symbol: str) -> Scales | None:
        with self._lock:
            found = self._scales.get(symbol)
        if found is None or self._clock() - found[1] > SCALES_TTL_SECONDS:
            return None
        return found[0]

    def missing(self, symbols: Iterable[str]) -> list[str]:
        return sorted({s for s in symbols if s and self.get(s) is None})
