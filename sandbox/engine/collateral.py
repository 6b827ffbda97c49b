"""Collateral and buying power, fully collateralised (API.md 5.5.5, section 8 row 13, 5.3.4 end).

The cash model is the one of `fill_cash_delta`: buying YES pays p, selling YES short pays (locks)
1 - p, closing trades release; a position therefore needs no further cash, and an instrument's
*open orders* need, in the worst case, the cash they could still consume:

* all bids fill at their limits: ``sum(price x qty) - $1 x (contracts that close a short)``;
* all offers fill at their limits: ``$1 x (contracts that open a short) - sum(price x qty)``;

(which contracts close does not change the totals), and the requirement is the worse of the two,
never below zero. Within one instrument open orders aggregate this way; across instruments they do
not (the docs: "so total open exposure can exceed cash"): an order is accepted when the account's
cash covers its own instrument's requirement with the new order plus the new order's worst-case
taker fee. Resting orders only ever fill as makers (a rebate), so their fees add nothing.

Withdrawals: free cash is the balance less the *largest* reservation among instruments ($100 cash,
$20 reserved in A, $30 in B -> $70 withdrawable); `balance_summary` reports the same figures as
``openOrders``/``buyingPower`` of ``GetAccountBalance``.

Money is Decimal dollars; each instrument's figures are computed in its notional units first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sandbox.engine.enums import Side
from sandbox.engine.fees import worst_case_taker_fee
from sandbox.engine.fixedpoint import InstrumentSpec
from sandbox.engine.matching import IncomingOrder, RestingOrder, collar_price, unit_cost

_ZERO = Decimal(0)


@dataclass(frozen=True)
class _Leg:
    """One order as the worst case sees it: side, contracts (scaled qty), price x qty notional."""

    side: Side
    qty: int
    notional: int


def _leg(order: RestingOrder) -> _Leg:
    return _Leg(order.side, order.leaves_qty, order.price * order.leaves_qty)


def _incoming_leg(instrument: InstrumentSpec, order: IncomingOrder) -> _Leg:
    limit = collar_price(instrument, order)
    if order.order_qty is not None:
        return _Leg(order.side, order.order_qty, limit * order.order_qty)
    budget = (order.cash_order_qty or 0) * instrument.fractional_qty_scale
    qty = budget // unit_cost(order.side, limit, instrument.price_scale)
    if order.side is Side.BUY:
        return _Leg(Side.BUY, qty, budget)  # the whole principal may be spent
    return _Leg(Side.SELL, qty, limit * qty)


def _scenario_needs(
    instrument: InstrumentSpec, net_position: int, legs: Iterable[_Leg]
) -> tuple[int, int]:
    """Cash (notional units) the all-bids-fill and all-offers-fill scenarios would consume."""
    scale = instrument.price_scale
    bid_qty = bid_cost = offer_qty = offer_proceeds = 0
    for leg in legs:
        if leg.side is Side.BUY:
            bid_qty += leg.qty
            bid_cost += leg.notional
        else:
            offer_qty += leg.qty
            offer_proceeds += leg.notional
    closing_bids = min(bid_qty, max(-net_position, 0))
    opening_offers = max(offer_qty - max(net_position, 0), 0)
    bids = bid_cost - closing_bids * scale
    offers = opening_offers * scale - offer_proceeds
    return max(bids, 0), max(offers, 0)


def open_orders_requirement(
    instrument: InstrumentSpec, net_position: int, orders: Iterable[RestingOrder]
) -> Decimal:
    """Worst-case cash the instrument's open orders could still consume, net of the position.

    This is the instrument's reservation for `withdrawable_cash` / `balance_summary`.
    """
    bids, offers = _scenario_needs(instrument, net_position, (_leg(o) for o in orders))
    return instrument.dollars(max(bids, offers))


@dataclass(frozen=True)
class OrderCheck:
    """The acceptance check of one new order.

    ``collateral`` is the instrument's open-order requirement including the new order, ``fee`` the
    new order's worst-case taker fee, ``required`` their sum; ``affordable`` is ``cash >=
    required``. ``shortfall`` is how much cash is missing (0 when affordable).
    """

    collateral: Decimal
    fee: Decimal
    required: Decimal
    cash: Decimal

    @property
    def affordable(self) -> bool:
        return self.cash >= self.required

    @property
    def shortfall(self) -> Decimal:
        return max(self.required - self.cash, _ZERO)


def check_order(
    instrument: InstrumentSpec,
    cash: Decimal,
    net_position: int,
    open_orders: Iterable[RestingOrder],
    order: IncomingOrder,
) -> OrderCheck:
    """Whether ``order`` (YES terms, already valid for `validate_order`) can be accepted.

    ``cash`` is the account's cash balance; ``open_orders`` its resting orders in this instrument
    only (other instruments' orders do not count against it, per the docs).
    """
    legs = [_leg(o) for o in open_orders]
    legs.append(_incoming_leg(instrument, order))
    bids, offers = _scenario_needs(instrument, net_position, legs)
    collateral = instrument.dollars(max(bids, offers))
    fee = worst_case_taker_fee(
        instrument,
        order.side,
        collar_price(instrument, order),
        qty=order.order_qty,
        cash_order_qty=order.cash_order_qty,
    )
    return OrderCheck(collateral=collateral, fee=fee, required=collateral + fee, cash=Decimal(cash))


def unfunded_orders(
    instrument: InstrumentSpec,
    cash: Decimal,
    net_position: int,
    orders: Sequence[RestingOrder],
) -> tuple[str, ...]:
    """Resting orders to auto-cancel (unsolicited) because the account can no longer fund them.

    Call after a fill changed the account's cash or position, once per instrument in which it has
    resting orders, with its cash balance. Cancels from the side whose worst case exceeds the cash,
    most recent order (highest ``priority``) first, until the rest is funded; returns their ids in
    that order (empty when everything is still funded).
    """
    remaining = list(orders)
    cancelled: list[str] = []
    while remaining:
        bids, offers = _scenario_needs(instrument, net_position, (_leg(o) for o in remaining))
        if instrument.dollars(max(bids, offers)) <= cash:
            break
        side = Side.BUY if bids >= offers else Side.SELL
        candidates = [o for o in remaining if o.side is side]
        victim = max(candidates, key=lambda o: (o.priority, o.order_id))
        remaining.remove(victim)
        cancelled.append(victim.order_id)
    return tuple(cancelled)


def withdrawable_cash(cash: Decimal, reservations: Iterable[Decimal]) -> Decimal:
    """Free cash for a withdrawal: cash less the largest open-order reservation, never negative."""
    largest = max(reservations, default=_ZERO)
    return max(Decimal(cash) - max(largest, _ZERO), _ZERO)


@dataclass(frozen=True)
class BalanceSummary:
    """``balance``, ``openOrders`` and ``buyingPower`` of ``GetAccountBalance`` (dollars)."""

    balance: Decimal
    open_orders: Decimal
    buying_power: Decimal


def balance_summary(cash: Decimal, reservations: Iterable[Decimal]) -> BalanceSummary:
    """The account's balance figures, given each instrument's `open_orders_requirement`."""
    largest = max(max(reservations, default=_ZERO), _ZERO)
    return BalanceSummary(
        balance=Decimal(cash),
        open_orders=largest,
        buying_power=max(Decimal(cash) - largest, _ZERO),
    )
