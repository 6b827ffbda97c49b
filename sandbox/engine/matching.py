"""Price-time priority matching of one incoming order against one instrument's book, in YES terms.

API.md section 8 row 12: a central limit order book per symbol; LIMIT and MARKET_TO_LIMIT orders;
time in force DAY, GTC, GTT (rest), IOC (remainder cancelled), FOK (all or nothing: NEW then
EXPIRED, no fills). Fills happen at the resting order's price; the resting order is the maker.

`match_order` is pure: it reads the book and returns what happens. The caller applies the fills
(reduce each resting order's leaves to ``Fill.resting_leaves_qty``), stores the incoming order with
the returned state and, when ``rests``, adds it to the book at ``rest_price`` with ``leaves_qty``.

Choices where the docs are silent (documented here, tested in tests/sandbox/engine):

* MARKET_TO_LIMIT sweeps the opposite side up to its collar (the order's own ``price`` when given,
  else the instrument's price limit), then its remainder becomes a LIMIT at its last fill price
  (DAY/GTC/GTT) or is cancelled (IOC) / expired (FOK). With no opposite liquidity inside the collar
  it is REJECTED with ``NO_LIQUIDITY``.
* Cash orders (``cash_order_qty``, USD principal x priceScale) buy ``principal / price`` contracts at
  each level (a SELL spends NO collateral: ``principal / (1 - price)``), in whole quantity units of
  the instrument's fractionalQtyScale, rounding down. The unspent principal is tracked exactly in
  notional units. A cash order is complete when what is left cannot buy one more unit at its limit;
  if it rests, its leaves are what the rest buys at the resting price.
* IOC with no fill ends CANCELED; FOK that cannot complete ends EXPIRED with no fills.
* Self-match prevention is not applied (the docs give no default); the house may trade with itself.
* STOP and STOP_LIMIT are rejected with ``INCORRECT_ORDER_TYPE``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sandbox.engine.enums import (
    ExecutionType,
    OrderState,
    OrderType,
    OrdRejectReason,
    Side,
    TimeInForce,
)
from sandbox.engine.fixedpoint import InstrumentSpec, round_half_even_div

_RESTING_TIF = (TimeInForce.DAY, TimeInForce.GOOD_TILL_CANCEL, TimeInForce.GOOD_TILL_TIME)


@dataclass(frozen=True)
class RestingOrder:
    """An order on the book. ``priority`` orders arrivals: lower = earlier (e.g. a sequence)."""

    order_id: str
    account: str
    side: Side
    price: int
    leaves_qty: int
    priority: int
    time_in_force: TimeInForce = TimeInForce.GOOD_TILL_CANCEL


@dataclass(frozen=True)
class IncomingOrder:
    """An order to match, already in YES terms (see `no_to_yes`).

    Exactly one of ``order_qty`` and ``cash_order_qty`` is set. ``price`` is required for LIMIT and
    is an optional protection limit (collar) for MARKET_TO_LIMIT.
    """

    order_id: str
    account: str
    side: Side
    price: int | None = None
    order_qty: int | None = None
    cash_order_qty: int | None = None
    order_type: OrderType = OrderType.LIMIT
    time_in_force: TimeInForce = TimeInForce.GOOD_TILL_CANCEL


@dataclass(frozen=True)
class Fill:
    """One match: the incoming order (taker) against one resting order (maker) at its price.

    ``resting_leaves_qty`` is the resting order's remaining quantity after this fill (0 = it is
    filled and leaves the book). ``taker_cum_qty``/``taker_leaves_qty`` are the incoming order's
    totals right after this fill, for the execution's order snapshot.
    """

    resting_order_id: str
    resting_account: str
    resting_side: Side
    price: int
    qty: int
    resting_leaves_qty: int
    taker_cum_qty: int
    taker_leaves_qty: int

    @property
    def taker_side(self) -> Side:
        return self.resting_side.opposite

    @property
    def resting_execution_type(self) -> ExecutionType:
        """FILL when this fill completes the resting order, else PARTIAL_FILL."""
        if self.resting_leaves_qty == 0:
            return ExecutionType.FILL
        return ExecutionType.PARTIAL_FILL


@dataclass(frozen=True)
class MatchResult:
    """What became of the incoming order.

    ``order_qty`` is the order's quantity (for a cash order: what it filled plus what rests).
    ``avg_px`` is the quantity-weighted fill price, banker's-rounded to a whole price unit (0 when
    nothing filled). ``rests`` says whether the remainder goes on the book, at ``rest_price``.
    """

    state: OrderState
    fills: tuple[Fill, ...] = ()
    order_qty: int = 0
    cum_qty: int = 0
    leaves_qty: int = 0
    avg_px: int = 0
    rests: bool = False
    rest_price: int | None = None
    reject_reason: OrdRejectReason | None = None

    @property
    def execution_types(self) -> tuple[ExecutionType, ...]:
        """The incoming order's executions in order: NEW, one per fill, then CANCELED/EXPIRED.

        A REJECTED order has only REJECTED. The last fill of a FILLED order is FILL, every other
        fill PARTIAL_FILL.
        """
        if self.state is OrderState.REJECTED:
            return (ExecutionType.REJECTED,)
        types = [ExecutionType.NEW]
        for index, _fill in enumerate(self.fills):
            last = index == len(self.fills) - 1
            filled = last and self.state is OrderState.FILLED
            types.append(ExecutionType.FILL if filled else ExecutionType.PARTIAL_FILL)
        if self.state is OrderState.CANCELED:
            types.append(ExecutionType.CANCELED)
        elif self.state is OrderState.EXPIRED:
            types.append(ExecutionType.EXPIRED)
        return tuple(types)

    @property
    def price_to_quantity_filled(self) -> dict[int, int]:
        """``priceToQuantityFilled`` of the Order message: quantity filled at each price."""
        filled: dict[int, int] = {}
        for fill in self.fills:
            filled[fill.price] = filled.get(fill.price, 0) + fill.qty
        return filled


def no_to_yes(side: Side, price: int, price_scale: int) -> tuple[Side, int]:
    """A NO order in YES terms: BUY q NO @ p == SELL q YES @ (1 - p), and SELL NO == BUY YES.

    Quantities are unchanged, and so is ``cashOrderQty`` (a YES SELL's cash is NO collateral).
    The conversion is its own inverse, so it also turns a YES order into NO terms.
    """
    if not 0 < price < price_scale:
        raise ValueError(f"price {price} outside (0, {price_scale})")
    return side.opposite, price_scale - price


def unit_cost(side: Side, price: int, price_scale: int) -> int:
    """Cash a cash order spends per quantity unit, in notional units: the price for a buy, the
    complementary NO price (1 - p) for a sell."""
    return price if side is Side.BUY else price_scale - price


def validate_order(instrument: InstrumentSpec, order: IncomingOrder) -> OrdRejectReason | None:
    """Why the exchange would reject this order outright, or None when it may be matched."""
    if order.order_type not in (OrderType.LIMIT, OrderType.MARKET_TO_LIMIT):
        return OrdRejectReason.INCORRECT_ORDER_TYPE
    if (order.order_qty is None) == (order.cash_order_qty is None):
        return OrdRejectReason.INCORRECT_QUANTITY
    if order.order_qty is not None and order.order_qty <= 0:
        return OrdRejectReason.INCORRECT_QUANTITY
    if order.cash_order_qty is not None and order.cash_order_qty <= 0:
        return OrdRejectReason.INCORRECT_QUANTITY
    if order.price is None:
        if order.order_type is OrderType.LIMIT:
            return OrdRejectReason.INVALID_PRICE_INCREMENT
    elif not instrument.on_tick(order.price):
        return OrdRejectReason.INVALID_PRICE_INCREMENT
    elif not instrument.within_limits(order.price):
        return OrdRejectReason.PRICE_OUT_OF_BOUNDS
    if order.cash_order_qty is not None and order.price is not None:
        limit = order.price
        budget = order.cash_order_qty * instrument.fractional_qty_scale
        if budget < unit_cost(order.side, limit, instrument.price_scale):
            return OrdRejectReason.INCORRECT_QUANTITY  # cannot buy a single unit at its limit
    return None


def collar_price(instrument: InstrumentSpec, order: IncomingOrder) -> int:
    """The worst price the order may trade at: its limit, or for a MARKET_TO_LIMIT without one the
    instrument's highest (buy) or lowest (sell) valid price."""
    if order.price is not None:
        return order.price
    return instrument.max_price if order.side is Side.BUY else instrument.min_price


def _crosses(side: Side, limit: int, resting_price: int) -> bool:
    return resting_price <= limit if side is Side.BUY else resting_price >= limit


def sorted_opposite(side: Side, book: Iterable[RestingOrder]) -> list[RestingOrder]:
    """The resting orders an incoming ``side`` order meets, best price first, then earliest."""
    opposite = [o for o in book if o.side is not side and o.leaves_qty > 0]
    if side is Side.BUY:
        opposite.sort(key=lambda o: (o.price, o.priority, o.order_id))
    else:
        opposite.sort(key=lambda o: (-o.price, o.priority, o.order_id))
    return opposite


def match_order(
    instrument: InstrumentSpec, book: Iterable[RestingOrder], order: IncomingOrder
) -> MatchResult:
    """Match ``order`` against ``book`` (all resting orders of the instrument, any order)."""
    reason = validate_order(instrument, order)
    if reason is not None:
        return MatchResult(state=OrderState.REJECTED, reject_reason=reason)
    scale = instrument.price_scale
    limit = collar_price(instrument, order)
    candidates = [
        o for o in sorted_opposite(order.side, book) if _crosses(order.side, limit, o.price)
    ]
    if order.order_type is OrderType.MARKET_TO_LIMIT and not candidates:
        return MatchResult(state=OrderState.REJECTED, reject_reason=OrdRejectReason.NO_LIQUIDITY)

    cash = order.cash_order_qty is not None
    remaining = order.order_qty or 0  # qty orders: quantity still to fill
    budget = (order.cash_order_qty or 0) * instrument.fractional_qty_scale  # cash: notional left
    fills: list[Fill] = []
    cum = 0
    notional = 0
    for resting in candidates:
        if cash:
            take = min(budget // unit_cost(order.side, resting.price, scale), resting.leaves_qty)
        else:
            take = min(remaining, resting.leaves_qty)
        if take == 0:
            break
        cum += take
        notional += take * resting.price
        if cash:
            budget -= take * unit_cost(order.side, resting.price, scale)
            # MARKET_TO_LIMIT would rest at this fill's price: measure what is left there.
            at = resting.price if order.order_type is OrderType.MARKET_TO_LIMIT else limit
            leaves = budget // unit_cost(order.side, at, scale)
        else:
            remaining -= take
            leaves = remaining
        fills.append(
            Fill(
                resting_order_id=resting.order_id,
                resting_account=resting.account,
                resting_side=resting.side,
                price=resting.price,
                qty=take,
                resting_leaves_qty=resting.leaves_qty - take,
                taker_cum_qty=cum,
                taker_leaves_qty=leaves,
            )
        )

    rest_price = limit
    if order.order_type is OrderType.MARKET_TO_LIMIT:
        if not fills:  # a cash order too small for even the best level
            return MatchResult(
                state=OrderState.REJECTED, reject_reason=OrdRejectReason.INCORRECT_QUANTITY
            )
        rest_price = fills[-1].price
    leaves = budget // unit_cost(order.side, rest_price, scale) if cash else remaining
    avg_px = round_half_even_div(notional, cum) if cum else 0

    if leaves == 0:
        return MatchResult(
            state=OrderState.FILLED,
            fills=tuple(fills),
            order_qty=order.order_qty or cum,
            cum_qty=cum,
            avg_px=avg_px,
        )
    if order.time_in_force is TimeInForce.FILL_OR_KILL:
        return MatchResult(state=OrderState.EXPIRED, order_qty=order.order_qty or 0)
    if order.time_in_force not in _RESTING_TIF:  # IMMEDIATE_OR_CANCEL
        return MatchResult(
            state=OrderState.CANCELED,
            fills=tuple(fills),
            order_qty=order.order_qty or cum,
            cum_qty=cum,
            avg_px=avg_px,
        )
    return MatchResult(
        state=OrderState.PARTIALLY_FILLED if fills else OrderState.NEW,
        fills=tuple(fills),
        order_qty=cum + leaves,
        cum_qty=cum,
        leaves_qty=leaves,
        avg_px=avg_px,
        rests=True,
        rest_price=rest_price,
    )
