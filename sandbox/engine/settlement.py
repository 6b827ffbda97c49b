"""Settlement of an instrument (API.md 5.5.5, 5.7 settlement, section 8 row 18).

``settlement_px`` is a scaled price: 0 when the event resolves NO, the payout (``payoutValue``,
i.e. priceScale) when it resolves YES; anything in between (a void at 50, say) pays pro rata.

Cash, in the model of `fill_cash_delta` (shorts paid their 1 - p up front): a long of n contracts
is credited ``n x px`` and a short of n contracts ``n x (1 - px)``. So winners get $1.00 a
contract, losers nothing, and a short of a YES that loses gets its locked $1 back. The credits
add up to $1 per contract of open interest, which is exactly what the trades paid into collateral.

Each position is closed at the settlement price: ``net_position`` and ``cost`` go to 0, the
difference goes to ``realized`` (so ``realized`` becomes the position's whole P&L before fees) and
``expired`` is set. ``qty_bought``/``qty_sold`` count trades and are left alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal

from sandbox.engine.fixedpoint import InstrumentSpec
from sandbox.engine.positions import Position, PositionChange, change_between


@dataclass(frozen=True)
class SettledPosition:
    """One position after settlement, its ledger change and its RESOLUTION credit (dollars)."""

    position: Position
    change: PositionChange
    credit: Decimal


def settle_position(
    instrument: InstrumentSpec, position: Position, settlement_px: int
) -> SettledPosition:
    """Close ``position`` at ``settlement_px`` and compute its RESOLUTION credit."""
    scale = instrument.price_scale
    if not 0 <= settlement_px <= scale:
        raise ValueError(f"settlement price {settlement_px} outside 0..{scale}")
    net = position.net_position
    credit = net * settlement_px if net >= 0 else -net * (scale - settlement_px)
    # Closing at px realizes the YES cash flow net * px against the whole remaining basis.
    realized = position.realized + net * settlement_px - position.cost
    closed = replace(position, net_position=0, cost=0, realized=realized, expired=True)
    return SettledPosition(
        position=closed, change=change_between(position, closed), credit=instrument.dollars(credit)
    )


@dataclass(frozen=True)
class Settlement:
    """Every settled position of the instrument, in the order given."""

    settled: tuple[SettledPosition, ...]

    @property
    def credits(self) -> dict[str, Decimal]:
        """RESOLUTION credit per account (dollars; 0 for a losing position)."""
        totals: dict[str, Decimal] = {}
        for item in self.settled:
            account = item.position.account
            totals[account] = totals.get(account, Decimal(0)) + item.credit
        return totals

    @property
    def total_credit(self) -> Decimal:
        return sum((item.credit for item in self.settled), Decimal(0))


def settle_instrument(
    instrument: InstrumentSpec, positions: Iterable[Position], settlement_px: int
) -> Settlement:
    """Settle every position of the instrument (positions of other symbols are refused)."""
    settled = []
    for position in positions:
        if position.symbol != instrument.symbol:
            raise ValueError(f"position in {position.symbol} settled with {instrument.symbol}")
        settled.append(settle_position(instrument, position, settlement_px))
    return Settlement(settled=tuple(settled))
