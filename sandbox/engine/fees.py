"""Exchange trading fees (API.md 5.5.6).

``Fee = theta x C x p x (1 - p)`` with C contracts and p the decimal execution price; taker theta
0.0695, maker theta -0.0125 (a rebate paid at trade time). Each fill's fee is rounded to $0.01 with
banker's rounding (ROUND_HALF_EVEN), "with an adjustment so cumulative fills never exceed the
rounded cumulative exact fee". The rule implemented by `fill_fee`::

    charged = round(fill exact)                                   # per-fill banker's rounding
    cap     = round(cumulative exact incl. this fill) - cumulative charged before it
    charged = sign x min(|charged|, |cap|), never of the opposite sign

so after every fill ``|cumulative charged| <= |round(cumulative exact)|``. The adjustment only ever
lowers a fill's fee (it never tops one up); rebates are capped the same way in magnitude. The cap is
kept per order and per role (taker fills and maker fills accumulate separately, `OrderFees`), since
mixing a fee and a rebate in one running total would make "never exceed" meaningless.

How the worked examples of 5.5.6 come out (all reproduced in the tests):

* 312 units @ 97 on scales 100/100 = 3.12 contracts @ $0.97: exact taker fee
  0.0695 x 3.12 x 0.97 x 0.03 = $0.006310044. Banker's rounding to cents gives $0.01 (0.0063 is
  nearer 0.01 than 0.00; half-even only matters at exactly half a cent), so no ceiling is needed.
  In notional units $0.01 x 100 x 100 = ``commissionNotionalCollected: "100"``; the ledger debit is
  principal 3.12 x 0.97 = 3.0264 plus the fee 0.01 = 3.0364 ("charged on top of principal").
* 100 units @ 97, priceScale 100, whole contracts: exact taker 0.0695 x 100 x 0.97 x 0.03 = 0.202245
  -> $0.20 = ``"20"``; maker -0.0125 x 2.91 = -0.036375 -> -$0.04 = ``"-4"``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from sandbox.engine.enums import Liquidity, Side
from sandbox.engine.fixedpoint import InstrumentSpec, round_to_cent

TAKER_THETA = Decimal("0.0695")
MAKER_THETA = Decimal("-0.0125")
_ZERO = Decimal(0)


def theta(liquidity: Liquidity) -> Decimal:
    return TAKER_THETA if liquidity is Liquidity.TAKER else MAKER_THETA


def exact_fee(contracts: Decimal, price: Decimal, liquidity: Liquidity) -> Decimal:
    """Unrounded fee in dollars for C contracts at decimal price p (negative = rebate)."""
    return theta(liquidity) * Decimal(contracts) * Decimal(price) * (1 - Decimal(price))


def _sign(value: Decimal) -> int:
    return (value > 0) - (value < 0)


def fill_fee(
    fill_exact: Decimal, cum_exact_before: Decimal, cum_charged_before: Decimal
) -> Decimal:
    """This fill's charged fee (dollars, cents), given the order's running totals before it.

    ``cum_exact_before`` and ``cum_charged_before`` are the order's unrounded and charged totals for
    the same role (taker or maker) before this fill; they must not have the opposite sign of
    ``fill_exact``. See the module docstring for the rule.
    """
    sign = _sign(fill_exact)
    if sign == 0:
        return round_to_cent(_ZERO)
    if _sign(cum_exact_before) == -sign or _sign(cum_charged_before) == -sign:
        raise ValueError("fees and rebates must be accumulated separately")
    per_fill = abs(round_to_cent(fill_exact))
    cap = abs(round_to_cent(cum_exact_before + fill_exact)) - abs(cum_charged_before)
    charged = max(min(per_fill, cap), _ZERO)
    return charged if sign > 0 or charged == 0 else -charged


@dataclass(frozen=True)
class FeeTally:
    """Running totals of one order's fees in one role: unrounded and charged dollars."""

    exact: Decimal = _ZERO
    charged: Decimal = _ZERO


@dataclass(frozen=True)
class OrderFees:
    """An order's fee state: the taker part (its immediate fills) and the maker part (resting)."""

    taker: FeeTally = FeeTally()
    maker: FeeTally = FeeTally()

    @property
    def charged(self) -> Decimal:
        """Net fee charged so far (``commissionNotionalTotalCollected`` once in notional units)."""
        return self.taker.charged + self.maker.charged


@dataclass(frozen=True)
class FeeCharge:
    """One fill's fee: dollars, the same in notional units, and the order's updated fee state."""

    fee: Decimal
    commission_notional: int
    fees: OrderFees


def charge_fill(
    fees: OrderFees, instrument: InstrumentSpec, liquidity: Liquidity, qty: int, price: int
) -> FeeCharge:
    """The fee of a fill of ``qty`` at ``price`` (scaled ints) for an order with fee state ``fees``.

    ``commission_notional`` is the value for ``commissionNotionalCollected``; add it to the
    order's ``commissionNotionalTotalCollected``.
    """
    exact = exact_fee(instrument.contracts(qty), instrument.price(price), liquidity)
    tally = fees.taker if liquidity is Liquidity.TAKER else fees.maker
    fee = fill_fee(exact, tally.exact, tally.charged)
    tally = FeeTally(exact=tally.exact + exact, charged=tally.charged + fee)
    updated = (
        replace(fees, taker=tally) if liquidity is Liquidity.TAKER else replace(fees, maker=tally)
    )
    return FeeCharge(fee=fee, commission_notional=fee_to_commission(fee, instrument), fees=updated)


def fee_to_commission(fee: Decimal, instrument: InstrumentSpec) -> int:
    """Dollars -> ``commissionNotionalCollected`` units ($0.01 at 100/100 -> 100)."""
    return instrument.notional(fee)


def commission_to_fee(commission_notional: int, instrument: InstrumentSpec) -> Decimal:
    """``commissionNotionalCollected`` -> dollars (``"-4"`` at 100/1 -> -0.04)."""
    return instrument.dollars(commission_notional)


def worst_case_taker_fee(
    instrument: InstrumentSpec,
    side: Side,
    limit_price: int,
    *,
    qty: int | None = None,
    cash_order_qty: int | None = None,
) -> Decimal:
    """The most an order can be charged in taker fees if it fills entirely, in dollars.

    The order may execute at any valid price at or better than its limit (down to the lowest valid
    price for a buy, up to the highest for a sell). For a quantity the fee is C x p x (1 - p),
    which peaks at $0.50 and falls away on both sides; for a cash order the contract count depends
    on the price (principal / price for a buy, NO collateral / (1 - price) for a sell), which makes
    the fee fall (buy) or rise (sell) with the price. Either way the worst reachable price is an
    end of the reachable range or a tick beside $0.50, so only those are tried. Used by the order
    acceptance check; charged fees never exceed the rounded exact total, so rounding the worst
    exact fee is exact.
    """
    if (qty is None) == (cash_order_qty is None):
        raise ValueError("exactly one of qty and cash_order_qty")
    valid = instrument.valid_prices()
    step = valid.step
    if side is Side.BUY:
        reachable = range(valid.start, min(limit_price, valid.stop - 1) + 1, step)
    else:
        first = max(valid.start, -(-limit_price // step) * step)
        reachable = range(first, valid.stop, step)
    if not reachable:
        return _ZERO
    lo, hi = reachable[0], reachable[-1]
    below_half = instrument.price_scale // 2 // step * step
    candidates = {lo, hi} | {p for p in (below_half, below_half + step) if lo <= p <= hi}
    worst = _ZERO
    for p in candidates:
        dollars = instrument.price(p)
        if qty is not None:
            contracts = instrument.contracts(qty)
        else:
            principal = Decimal(cash_order_qty or 0) / instrument.price_scale
            contracts = principal / (dollars if side is Side.BUY else 1 - dollars)
        worst = max(worst, exact_fee(contracts, dollars, Liquidity.TAKER))
    return round_to_cent(worst)
