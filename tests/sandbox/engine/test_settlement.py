"""Settlement: RESOLUTION credits, closed positions, and cash conservation over a market's life."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from sandbox.engine import (
    IncomingOrder,
    InstrumentSpec,
    Liquidity,
    OrderFees,
    OrderState,
    Position,
    PositionChange,
    RestingOrder,
    Side,
    TimeInForce,
    apply_fill,
    charge_fill,
    fill_cash_delta,
    match_order,
    open_interest_change,
    replay_fills,
    settle_instrument,
    settle_position,
)

SPEC = InstrumentSpec("mkt", price_scale=100, fractional_qty_scale=1)
FRACTIONAL = InstrumentSpec(
    "mkt", price_scale=1000, fractional_qty_scale=100, tick_size=Decimal("0.005")
)


def held(account: str, fills: list[tuple[Side, int, int]]) -> Position:
    return replay_fills(account, "mkt", fills)


@pytest.mark.parametrize(
    ("fills", "px", "credit", "realized"),
    [
        ([(Side.BUY, 10, 40)], 100, "10.00", 600),  # long wins $1 a contract
        ([(Side.BUY, 10, 40)], 0, "0", -400),  # long loses
        ([(Side.SELL, 10, 40)], 0, "10.00", 400),  # short of a losing YES: locked $1 back
        ([(Side.SELL, 10, 40)], 100, "0", -600),  # short of a winning YES
        ([(Side.BUY, 10, 40)], 50, "5.00", 100),  # pro rata
        ([], 100, "0", 0),
    ],
)
def test_settle_position(fills, px, credit, realized):
    settled = settle_position(SPEC, held("a", fills), px)
    assert settled.credit == Decimal(credit)
    assert settled.position.realized == realized
    assert (settled.position.net_position, settled.position.cost, settled.position.expired) == (
        0,
        0,
        True,
    )
    before = held("a", fills)
    assert settled.change == PositionChange(
        -before.net_position, -before.cost, realized - before.realized
    )
    assert settled.position.qty_bought == before.qty_bought


def test_settlement_price_must_be_between_zero_and_payout():
    with pytest.raises(ValueError, match="outside"):
        settle_position(SPEC, held("a", []), 101)


def test_settle_instrument_credits_per_account():
    long = held("alice", [(Side.BUY, 10, 40)])
    short = held("bob", [(Side.SELL, 10, 40)])
    settlement = settle_instrument(SPEC, [long, short], 100)
    assert settlement.credits == {"alice": Decimal("10.00"), "bob": Decimal(0)}
    assert settlement.total_credit == Decimal(10)
    assert settle_instrument(SPEC, [long, short], 0).credits == {
        "alice": Decimal(0),
        "bob": Decimal("10.00"),
    }


def test_settle_instrument_refuses_other_symbols():
    with pytest.raises(ValueError, match="settled with"):
        settle_instrument(SPEC, [Position("a", "other", net_position=1)], 100)


@pytest.mark.parametrize("seed", range(40))
def test_a_market_from_first_trade_to_settlement_conserves_cash(seed):
    """Trade randomly between accounts through the matcher, then settle.

    Throughout: accounts' cash + the exchange's fees + $1 per open contract is constant. At the end
    every position is flat and each account's cash change plus its fees equals its realized P&L.
    """
    rng = random.Random(seed)
    spec = rng.choice([SPEC, FRACTIONAL])
    accounts = ["a", "b", "c", "d"]
    positions = {name: Position(name, "mkt") for name in accounts}
    cash = dict.fromkeys(accounts, Decimal(0))
    fees = dict.fromkeys(accounts, Decimal(0))
    open_interest = 0
    for n in range(rng.randint(1, 40)):
        maker, taker = rng.sample(accounts, 2)
        price = rng.choice(spec.valid_prices())
        qty = rng.randint(1, 300)
        maker_side = rng.choice(list(Side))
        book = [RestingOrder(f"M{n}", maker, maker_side, price, qty, priority=n)]
        incoming = IncomingOrder(
            f"T{n}",
            taker,
            maker_side.opposite,
            price=price,
            order_qty=rng.randint(1, 2 * qty),
            time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL,
        )
        result = match_order(spec, book, incoming)
        assert result.state in (OrderState.FILLED, OrderState.CANCELED)
        for fill in result.fills:
            buyer, seller = (taker, maker) if fill.taker_side is Side.BUY else (maker, taker)
            open_interest += open_interest_change(
                positions[buyer].net_position, positions[seller].net_position, fill.qty
            )
            for account, side, liquidity in (
                (buyer, Side.BUY, Liquidity.TAKER if buyer == taker else Liquidity.MAKER),
                (seller, Side.SELL, Liquidity.TAKER if seller == taker else Liquidity.MAKER),
            ):
                fee = charge_fill(OrderFees(), spec, liquidity, fill.qty, fill.price).fee
                cash[account] += (
                    fill_cash_delta(
                        spec, positions[account].net_position, side, fill.qty, fill.price
                    )
                    - fee
                )
                fees[account] += fee
                positions[account], _ = apply_fill(positions[account], side, fill.qty, fill.price)
        assert open_interest == sum(max(p.net_position, 0) for p in positions.values())
        assert open_interest == sum(max(-p.net_position, 0) for p in positions.values())
        assert (
            sum(cash.values()) + sum(fees.values()) + spec.dollars(open_interest * spec.price_scale)
            == 0
        )

    px = rng.choice([0, spec.price_scale])
    settlement = settle_instrument(spec, positions.values(), px)
    assert settlement.total_credit == spec.dollars(open_interest * spec.price_scale)
    for item in settlement.settled:
        account = item.position.account
        cash[account] += item.credit
        assert item.position.net_position == 0
        assert cash[account] + fees[account] == spec.dollars(item.position.realized)
    assert sum(cash.values()) == -sum(fees.values())
