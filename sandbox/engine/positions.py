"""Positions (API.md 5.4 ``Position``, ``PositionLedgerEntry``) and the cash a fill moves.

Units, as the API's int64 fields:

* ``net_position``, ``qty_bought``, ``qty_sold``: scaled quantity (fractionalQtyScale), YES terms,
  negative net = short YES (= long NO);
* ``cost``, ``realized``: notional units, price units x qty units (dollars = value / (priceScale x
  fractionalQtyScale)), the same units as commissions. ``cost`` is the signed YES-terms cost basis
  of the open position: positive for a long (what was paid), negative for a short (what the YES
  sale brought in). A short of 10 @ 40 has cost -400; buying it back @ 30 realizes +100.

Average-cost accounting: a closing trade takes out ``cost x closed / |net|`` of the basis
(banker's-rounded to a whole unit; a full close takes it all, so no residue is left) and realizes
the trade's YES cash flow minus that basis. Consequently ``realized - cost`` always equals the sum
of the YES cash flows of the fills (sells +price x qty, buys -price x qty): a handy invariant.

Fees are not part of cost or realized (the exchange books them as separate COMMISSION entries).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal

from sandbox.engine.enums import Side
from sandbox.engine.fixedpoint import InstrumentSpec, round_half_even_div


@dataclass(frozen=True)
class Position:
    """One account's position in one instrument (field names: the API's, in snake_case)."""

    account: str
    symbol: str
    net_position: int = 0
    qty_bought: int = 0
    qty_sold: int = 0
    cost: int = 0
    realized: int = 0
    expired: bool = False


@dataclass(frozen=True)
class PositionChange:
    """The change fields of a ``PositionLedgerEntry``: after - before."""

    quantity_change: int
    cost_change: int
    realized_change: int


def _sign(value: int) -> int:
    return (value > 0) - (value < 0)


def _trade(position: Position, signed_qty: int, price: int) -> tuple[int, int, int]:
    """(net, cost, realized) after trading ``signed_qty`` (YES terms, + = buy) at ``price``."""
    net, cost, realized = position.net_position, position.cost, position.realized
    if net == 0 or _sign(net) == _sign(signed_qty):
        return net + signed_qty, cost + signed_qty * price, realized
    closed = min(abs(signed_qty), abs(net))
    removed = cost if closed == abs(net) else round_half_even_div(cost * closed, abs(net))
    direction = _sign(signed_qty)
    realized += -direction * closed * price - removed  # a closing sale brings cash in, a buy pays
    cost -= removed
    opened = abs(signed_qty) - closed
    cost += direction * opened * price
    return net + signed_qty, cost, realized


def apply_fill(
    position: Position, side: Side, qty: int, price: int
) -> tuple[Position, PositionChange]:
    """The position after a fill of ``qty`` at ``price`` (YES terms), and its ledger change."""
    if qty <= 0:
        raise ValueError(f"fill quantity must be positive: {qty}")
    net, cost, realized = _trade(position, side.sign * qty, price)
    after = replace(
        position,
        net_position=net,
        cost=cost,
        realized=realized,
        qty_bought=position.qty_bought + (qty if side is Side.BUY else 0),
        qty_sold=position.qty_sold + (qty if side is Side.SELL else 0),
    )
    return after, change_between(position, after)


def bust_fill(position: Position, change: PositionChange) -> tuple[Position, PositionChange]:
    """Reverse a fill, given the change it made (as recorded in the position ledger).

    Subtracts exactly what the fill added, so busting the latest fill restores the position before
    it. Busting an older fill keeps the quantities and the ``realized - cost`` invariant exact, but
    the split between cost and realized may differ from never having had the fill; use
    `replay_fills` over the surviving fills when that split must be exact.
    """
    qty = abs(change.quantity_change)
    after = replace(
        position,
        net_position=position.net_position - change.quantity_change,
        cost=position.cost - change.cost_change,
        realized=position.realized - change.realized_change,
        qty_bought=position.qty_bought - (qty if change.quantity_change > 0 else 0),
        qty_sold=position.qty_sold - (qty if change.quantity_change < 0 else 0),
    )
    return after, change_between(position, after)


def replay_fills(account: str, symbol: str, fills: Iterable[tuple[Side, int, int]]) -> Position:
    """Rebuild a position from its fills ``(side, qty, price)`` in time order."""
    position = Position(account=account, symbol=symbol)
    for side, qty, price in fills:
        position, _ = apply_fill(position, side, qty, price)
    return position


def change_between(before: Position, after: Position) -> PositionChange:
    return PositionChange(
        quantity_change=after.net_position - before.net_position,
        cost_change=after.cost - before.cost,
        realized_change=after.realized - before.realized,
    )


def fill_cash_delta(
    instrument: InstrumentSpec, net_position: int, side: Side, qty: int, price: int
) -> Decimal:
    """Dollars the fill moves into (+) or out of (-) the account's cash, fees excluded.

    Fully collateralised (API.md 5.5.5): buying YES pays p per contract; selling YES out of a long
    receives p; selling YES short pays (locks) 1 - p per contract, i.e. buys NO; buying YES back
    against a short releases that NO position for 1 - p. So a short's collateral is out of the
    cash balance, and settlement credits it back (`settle_position`). Across a trade the two
    accounts' cash moves by -$1 per contract of new open interest (paid into the clearing house's
    collateral) and +$1 per contract of open interest closed; `open_interest_change` gives it.
    """
    if qty <= 0:
        raise ValueError(f"fill quantity must be positive: {qty}")
    scale = instrument.price_scale
    if side is Side.BUY:
        closing = min(qty, max(-net_position, 0))
        notional = closing * (scale - price) - (qty - closing) * price
    else:
        closing = min(qty, max(net_position, 0))
        notional = closing * price - (qty - closing) * (scale - price)
    return instrument.dollars(notional)


def open_interest_change(buyer_net_before: int, seller_net_before: int, qty: int) -> int:
    """Change of the instrument's open interest (long contracts, scaled qty) from one trade."""
    buyer_closes = min(qty, max(-buyer_net_before, 0))
    seller_closes = min(qty, max(seller_net_before, 0))
    return (qty - buyer_closes) - seller_closes
