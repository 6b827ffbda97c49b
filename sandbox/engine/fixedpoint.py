"""Fixed-point numbers of the API (API.md 4.5) and the instrument facts the engine needs (5.7).

Conventions used across the engine:

* prices and quantities are the API's scaled integers: ``dollars = price / priceScale`` (a divisor,
  not an exponent, Appendix B #6) and ``contracts = qty / fractionalQtyScale`` (0 or absent means 1,
  Appendix B #12);
* ``cashOrderQty`` is USD principal x priceScale;
* "notional units" are price units x qty units, so ``dollars = notional / (priceScale x
  fractionalQtyScale)``; commissions (``commissionNotionalCollected``), position ``cost`` and
  ``realized`` are in these units;
* money (cash deltas, fees, collateral, settlement credits) is an exact ``Decimal`` of dollars.

Conversions to integers are strict: a value that is not a whole number of units raises ValueError
rather than being silently rounded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

CENT = Decimal("0.01")


def qty_scale(fractional_qty_scale: int | str | None) -> int:
    """The effective fractionalQtyScale: 0, "0", "" or absent mean 1 (whole contracts)."""
    value = int(fractional_qty_scale or 0)
    if value < 0:
        raise ValueError(f"fractionalQtyScale must not be negative: {value}")
    return value or 1


def _positive_scale(price_scale: int) -> int:
    if price_scale <= 0:
        raise ValueError(f"priceScale must be positive: {price_scale}")
    return price_scale


def _exact_int(value: Decimal, what: str) -> int:
    if value != value.to_integral_value():
        raise ValueError(f"{what} is not a whole number of units: {value}")
    return int(value)


def price_to_dollars(price: int, price_scale: int) -> Decimal:
    """Scaled price -> dollars: ``45`` at scale 100 -> ``Decimal("0.45")``."""
    return Decimal(price) / _positive_scale(price_scale)


def dollars_to_price(dollars: Decimal, price_scale: int) -> int:
    """Dollars -> scaled price; raises ValueError when not representable at this scale."""
    return _exact_int(Decimal(dollars) * _positive_scale(price_scale), "price")


def qty_to_contracts(qty: int, fractional_qty_scale: int | None) -> Decimal:
    """Scaled quantity -> contracts: ``10000`` at scale 100 -> ``Decimal("100")``."""
    return Decimal(qty) / qty_scale(fractional_qty_scale)


def contracts_to_qty(contracts: Decimal, fractional_qty_scale: int | None) -> int:
    """Contracts -> scaled quantity; raises ValueError for finer than the scale allows."""
    return _exact_int(Decimal(contracts) * qty_scale(fractional_qty_scale), "quantity")


def cash_qty_to_dollars(cash_order_qty: int, price_scale: int) -> Decimal:
    """``cashOrderQty`` -> USD principal: ``2000`` at priceScale 100 -> ``Decimal("20")``."""
    return Decimal(cash_order_qty) / _positive_scale(price_scale)


def dollars_to_cash_qty(dollars: Decimal, price_scale: int) -> int:
    """USD principal -> ``cashOrderQty``; raises ValueError when finer than the scale."""
    return _exact_int(Decimal(dollars) * _positive_scale(price_scale), "cashOrderQty")


def notional_to_dollars(
    notional: int, price_scale: int, fractional_qty_scale: int | None
) -> Decimal:
    """Notional units (commission, cost, realized) -> dollars: value / (priceScale x qtyScale)."""
    return Decimal(notional) / (_positive_scale(price_scale) * qty_scale(fractional_qty_scale))


def dollars_to_notional(
    dollars: Decimal, price_scale: int, fractional_qty_scale: int | None
) -> int:
    """Dollars -> notional units; raises ValueError when not representable (e.g. $0.001 at 100/1)."""
    units = Decimal(dollars) * _positive_scale(price_scale) * qty_scale(fractional_qty_scale)
    return _exact_int(units, "notional")


def round_half_even_div(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded to an integer, ties to even (banker's rounding)."""
    if denominator == 0:
        raise ZeroDivisionError("division by zero")
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    quotient, remainder = divmod(numerator, denominator)  # floor; 0 <= remainder < denominator
    if 2 * remainder > denominator or (2 * remainder == denominator and quotient % 2 == 1):
        quotient += 1
    return quotient


def round_to_cent(dollars: Decimal) -> Decimal:
    """Banker's rounding to $0.01 (ROUND_HALF_EVEN), the fee rounding of API.md 5.5.6."""
    return Decimal(dollars).quantize(CENT, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class InstrumentSpec:
    """What the engine needs of an instrument (RefData ``Instrument``, API.md 5.7).

    ``fractional_qty_scale`` is normalised (0 -> 1), ``tick_size`` is dollars (floats from JSON are
    taken through ``str`` so 0.005 stays 0.005), price limits are scaled prices and inclusive; a
    missing limit means "one tick inside 0 and 1". Every valid price is strictly between 0 and 1.
    """

    symbol: str
    price_scale: int = 100
    fractional_qty_scale: int = 1
    tick_size: Decimal = CENT
    price_limit_low: int | None = None
    price_limit_high: int | None = None

    def __post_init__(self) -> None:
        _positive_scale(self.price_scale)
        object.__setattr__(self, "fractional_qty_scale", qty_scale(self.fractional_qty_scale))
        tick = Decimal(str(self.tick_size))
        object.__setattr__(self, "tick_size", tick)
        step = tick * self.price_scale
        if tick <= 0 or step != step.to_integral_value():
            raise ValueError(
                f"tickSize {tick} is not a whole number of units at {self.price_scale}"
            )
        if self.min_price > self.max_price:
            raise ValueError(f"empty price range {self.min_price}..{self.max_price}")

    @classmethod
    def from_api(cls, instrument: Mapping[str, Any]) -> InstrumentSpec:
        """Build from the RefData JSON (camelCase, int64 as strings, ``priceLimit`` optional)."""
        limit = instrument.get("priceLimit") or {}

        def bound(name: str) -> int | None:
            flag = limit.get(f"{name}Set")
            raw = limit.get(name)
            if flag is False or raw is None or raw == "":
                return None
            value = int(raw)
            return value if (flag or value > 0) else None

        return cls(
            symbol=str(instrument.get("symbol", "")),
            price_scale=int(instrument.get("priceScale") or 100),
            fractional_qty_scale=qty_scale(instrument.get("fractionalQtyScale")),
            tick_size=Decimal(str(instrument.get("tickSize") or "0.01")),
            price_limit_low=bound("low"),
            price_limit_high=bound("high"),
        )

    @property
    def tick_step(self) -> int:
        """Valid prices are multiples of this (priceScale 1000, tick 0.005 -> 5)."""
        return int(self.tick_size * self.price_scale)

    @property
    def min_price(self) -> int:
        """Lowest valid price: ``priceLimit.low`` or one tick."""
        low = self.tick_step if self.price_limit_low is None else self.price_limit_low
        return max(low, 1)

    @property
    def max_price(self) -> int:
        """Highest valid price: ``priceLimit.high`` or one tick below $1."""
        if self.price_limit_high is None:
            return self.price_scale - self.tick_step
        return min(self.price_limit_high, self.price_scale - 1)

    def on_tick(self, price: int) -> bool:
        return price % self.tick_step == 0

    def within_limits(self, price: int) -> bool:
        return self.min_price <= price <= self.max_price

    def valid_prices(self) -> range:
        """Every on-tick price inside the limits, ascending."""
        first = -(-self.min_price // self.tick_step) * self.tick_step
        return range(first, self.max_price + 1, self.tick_step)

    def price(self, price: int) -> Decimal:
        return price_to_dollars(price, self.price_scale)

    def contracts(self, qty: int) -> Decimal:
        return qty_to_contracts(qty, self.fractional_qty_scale)

    def dollars(self, notional: int) -> Decimal:
        """Notional units (price units x qty units) -> dollars."""
        return notional_to_dollars(notional, self.price_scale, self.fractional_qty_scale)

    def notional(self, dollars: Decimal) -> int:
        """Dollars -> notional units, strictly."""
        return dollars_to_notional(dollars, self.price_scale, self.fractional_qty_scale)
