"""Positions and cash replayed from mirrored executions agree with the exchange's own rules (the
sandbox's engine) to the unit: random fills long and short in two instruments of different
scales, a busted fill, a settlement, and points in time before and after each."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from sandbox.engine.enums import Side
from sandbox.engine.fixedpoint import InstrumentSpec
from sandbox.engine.positions import Position, apply_fill, bust_fill, fill_cash_delta
from sandbox.engine.settlement import settle_position
from trading.models import Execution, Instrument, Trade
from trading.replay import Figures, replay

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)
SPECS = {
    "cents": InstrumentSpec(symbol="cents", price_scale=100, fractional_qty_scale=1),
    "mills": InstrumentSpec(symbol="mills", price_scale=1000, fractional_qty_scale=100),
}


def _instrument(spec: InstrumentSpec, **values: object) -> Instrument:
    return Instrument.objects.create(
        symbol=spec.symbol,
        state="OPEN",
        price_scale=spec.price_scale,
        qty_scale=spec.fractional_qty_scale,
        tick_size=Decimal("0.01"),
        minimum_trade_qty=Decimal(1),
        **values,
    )


def _execution(n: int, symbol: str, side: Side, qty: int, price: int, fee: int) -> Execution:
    spec = SPECS[symbol]
    return Execution(
        exchange_id=f"E{n}",
        order_exchange_id=f"O{n}",
        account="acct",
        symbol=symbol,
        side=side.name,
        exec_type="FILL",
        order_state="FILLED",
        last_shares=Decimal(qty) / spec.fractional_qty_scale,
        last_px=Decimal(price) / spec.price_scale,
        cum_qty=Decimal(qty) / spec.fractional_qty_scale,
        leaves_qty=Decimal(0),
        commission=spec.dollars(fee),
        trade_id=f"T{n}",
        transact_time=T0 + dt.timedelta(minutes=n),
    )


def test_replayed_positions_and_cash_are_the_exchanges():
    rng = random.Random(7)
    _instrument(SPECS["cents"])
    settled_at = T0 + dt.timedelta(minutes=500)
    _instrument(SPECS["mills"], settlement_price=Decimal("1.000"), settled_at=settled_at)
    positions = {s: Position(account="acct", symbol=s) for s in SPECS}
    cash = Decimal(0)
    changes = {}
    rows = []
    expected: dict[int, tuple[dict[str, Figures], Decimal]] = {}
    busted = 40  # the fill busted, at minute 300

    def snapshot(minute: int) -> None:
        expected[minute] = (
            {
                s: Figures(
                    net_position=Decimal(p.net_position) / SPECS[s].fractional_qty_scale,
                    cost=SPECS[s].dollars(p.cost),
                    realized=SPECS[s].dollars(p.realized),
                )
                for s, p in positions.items()
            },
            cash,
        )

    moved = {}  # each fill's cash, fee included
    for n in range(1, 400):
        symbol = rng.choice(list(SPECS))
        spec = SPECS[symbol]
        side = rng.choice([Side.BUY, Side.SELL])
        qty = rng.randint(1, 30) * spec.fractional_qty_scale + rng.choice(
            [0, 50 % spec.fractional_qty_scale]
        )
        price = rng.randint(1, spec.price_scale - 1)
        fee = rng.randint(-3, 9)
        before = positions[symbol]
        moved[n] = fill_cash_delta(spec, before.net_position, side, qty, price) - spec.dollars(fee)
        cash += moved[n]
        positions[symbol], changes[n] = apply_fill(before, side, qty, price)
        rows.append(_execution(n, symbol, side, qty, price, fee))
        if n == 300:
            # The bust reverses the fill's change and its cash, as the exchange does.
            symbol = rows[busted - 1].symbol
            positions[symbol], _ = bust_fill(positions[symbol], changes[busted])
            cash -= moved[busted]
        if n in (100, 299, 300, 399):
            snapshot(n)
    Execution.objects.bulk_create(rows)
    Trade.objects.create(
        exchange_id=f"T{busted}",
        symbol=rows[busted - 1].symbol,
        state="BUSTED",
        qty=rows[busted - 1].last_shares,
        busted_at=T0 + dt.timedelta(minutes=300, seconds=30),
    )
    Execution.objects.filter(exchange_id=f"E{busted}").update(busted=True)
    settled = settle_position(SPECS["mills"], positions["mills"], 1000)
    positions["mills"] = settled.position
    cash += settled.credit
    snapshot(600)

    moments = [T0 + dt.timedelta(minutes=m, seconds=45) for m in (100, 299, 300, 399, 600)]
    results = replay(["acct"], moments)

    for minute, result in zip((100, 299, 300, 399, 600), results, strict=True):
        figures, money = expected[minute]
        assert result.positions["acct"] == figures, minute
        assert result.cash["acct"] == money, minute
