"""Positions (API.md 5.4) and the cash a fill moves under full collateralisation (5.5.5)."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from sandbox.engine import (
    IncomingOrder,
    InstrumentSpec,
    Liquidity,
    OrderFees,
    Position,
    PositionChange,
    RestingOrder,
    Side,
    TimeInForce,
    apply_fill,
    bust_fill,
    charge_fill,
    fill_cash_delta,
    match_order,
    open_interest_change,
    replay_fills,
)

WHOLE = InstrumentSpec("whole", price_scale=100, fractional_qty_scale=1)
FRACTIONAL = InstrumentSpec("frac", price_scale=100, fractional_qty_scale=100)


def flat() -> Position:
    return Position(account="alice", symbol="whole")


class TestApplyFill:
    def test_opening_a_long(self):
        position, change = apply_fill(flat(), Side.BUY, 10, 40)
        assert (position.net_position, position.cost, position.realized) == (10, 400, 0)
        assert (position.qty_bought, position.qty_sold) == (10, 0)
        assert change == PositionChange(quantity_change=10, cost_change=400, realized_change=0)

    def test_documented_ledger_sample_units(self):
        # "quantityChange 50, costChange 26000, netPosition 150, cost 78000": cost is price x qty.
        position = Position("a", "s", net_position=100, qty_bought=100, cost=52000)
        position, change = apply_fill(position, Side.BUY, 50, 520)
        assert change.cost_change == 26000
        assert (position.net_position, position.cost) == (150, 78000)

    def test_adding_to_a_long_averages(self):
        position, _ = apply_fill(flat(), Side.BUY, 10, 40)
        position, _ = apply_fill(position, Side.BUY, 10, 60)
        assert (position.net_position, position.cost) == (20, 1000)

    def test_closing_part_of_a_long_realizes_against_average_cost(self):
        position = replay_fills("alice", "whole", [(Side.BUY, 10, 40), (Side.BUY, 10, 60)])
        position, change = apply_fill(position, Side.SELL, 5, 70)
        # Average 50: 5 x (70 - 50) = 100 realized; 250 of basis out.
        assert change == PositionChange(quantity_change=-5, cost_change=-250, realized_change=100)
        assert (position.net_position, position.cost, position.realized) == (15, 750, 100)
        assert position.qty_sold == 5

    def test_short_has_negative_cost_and_profits_when_bought_back_lower(self):
        position, _ = apply_fill(flat(), Side.SELL, 10, 40)
        assert (position.net_position, position.cost) == (-10, -400)
        position, change = apply_fill(position, Side.BUY, 10, 30)
        assert (position.net_position, position.cost, position.realized) == (0, 0, 100)
        assert change.realized_change == 100

    def test_crossing_through_zero_closes_then_opens(self):
        position, _ = apply_fill(flat(), Side.BUY, 5, 40)
        position, change = apply_fill(position, Side.SELL, 8, 50)
        assert position.net_position == -3
        assert position.realized == 50  # 5 x (50 - 40)
        assert position.cost == -150  # short 3 @ 50
        assert change.quantity_change == -8

    def test_partial_close_with_uneven_basis_rounds_and_full_close_leaves_no_residue(self):
        position = replay_fills("a", "s", [(Side.BUY, 1, 33), (Side.BUY, 1, 34), (Side.BUY, 1, 34)])
        assert position.cost == 101
        position, _ = apply_fill(position, Side.SELL, 1, 50)
        assert position.cost == 67  # 101 / 3 = 33.67 -> 34 out
        position, _ = apply_fill(position, Side.SELL, 2, 50)
        assert (position.net_position, position.cost) == (0, 0)
        assert position.realized == 150 - 101

    def test_quantity_must_be_positive(self):
        with pytest.raises(ValueError, match="positive"):
            apply_fill(flat(), Side.BUY, 0, 40)

    @pytest.mark.parametrize("seed", range(50))
    def test_realized_minus_cost_is_the_sum_of_yes_cash_flows(self, seed):
        rng = random.Random(seed)
        position = flat()
        flows = 0
        for _ in range(rng.randint(1, 25)):
            side = rng.choice(list(Side))
            qty = rng.randint(1, 500)
            price = rng.randint(1, 99)
            position, change = apply_fill(position, side, qty, price)
            flows += -side.sign * qty * price
            assert change.quantity_change == side.sign * qty
        assert position.realized - position.cost == flows
        assert position.net_position == position.qty_bought - position.qty_sold
        if position.net_position == 0:
            assert position.cost == 0


class TestBust:
    def test_busting_the_latest_fill_restores_the_position(self):
        before = replay_fills("a", "s", [(Side.BUY, 10, 40), (Side.SELL, 4, 55)])
        after, change = apply_fill(before, Side.SELL, 8, 60)
        restored, reversal = bust_fill(after, change)
        assert restored == before
        assert reversal == PositionChange(
            -change.quantity_change, -change.cost_change, -change.realized_change
        )

    @pytest.mark.parametrize("seed", range(30))
    def test_busting_in_reverse_order_unwinds_to_flat(self, seed):
        rng = random.Random(500 + seed)
        position = flat()
        history = []
        for _ in range(rng.randint(1, 15)):
            previous = position
            position, change = apply_fill(
                position, rng.choice(list(Side)), rng.randint(1, 50), rng.randint(1, 99)
            )
            history.append((previous, change))
        for previous, change in reversed(history):
            position, _ = bust_fill(position, change)
            assert position == previous
        assert position == flat()

    def test_replay_without_the_busted_fill_is_exact(self):
        fills = [(Side.BUY, 10, 40), (Side.BUY, 10, 60), (Side.SELL, 20, 50)]
        position = replay_fills("a", "s", [fills[0], fills[2]])
        assert (position.net_position, position.cost, position.realized) == (-10, -500, 100)


class TestCash:
    @pytest.mark.parametrize(
        ("net", "side", "qty", "price", "expected"),
        [
            (0, Side.BUY, 10, 40, "-4.00"),  # buy YES pays p
            (10, Side.SELL, 10, 40, "4.00"),  # selling a long receives p
            (0, Side.SELL, 10, 40, "-6.00"),  # opening a short locks 1 - p
            (-10, Side.BUY, 10, 40, "6.00"),  # buying a short back releases 1 - p
            (4, Side.SELL, 10, 40, "-2.00"),  # 4 x 0.40 in, 6 x 0.60 out
            (-4, Side.BUY, 10, 40, "0.00"),  # 4 x 0.60 in, 6 x 0.40 out
        ],
    )
    def test_fill_cash_delta(self, net, side, qty, price, expected):
        assert fill_cash_delta(WHOLE, net, side, qty, price) == Decimal(expected)

    def test_documented_ledger_debit_3_0364(self):
        principal = fill_cash_delta(FRACTIONAL, 0, Side.BUY, 312, 97)
        fee = charge_fill(OrderFees(), FRACTIONAL, Liquidity.TAKER, 312, 97).fee
        assert principal - fee == Decimal("-3.0364")

    @pytest.mark.parametrize("seed", range(60))
    def test_cash_is_conserved_across_a_fill_net_of_fees_and_collateral(self, seed):
        """What leaves the two accounts goes to the exchange (fees) or the collateral pool."""
        rng = random.Random(900 + seed)
        spec = rng.choice([WHOLE, FRACTIONAL])
        buyer_net = rng.randint(-300, 300)
        seller_net = rng.randint(-300, 300)
        price = rng.randint(1, 99)
        qty = rng.randint(1, 400)
        taker_side = rng.choice(list(Side))
        book = [RestingOrder("M", "maker", taker_side.opposite, price, qty, priority=1)]
        incoming = IncomingOrder(
            "T",
            "taker",
            taker_side,
            price=price,
            order_qty=qty,
            time_in_force=TimeInForce.FILL_OR_KILL,
        )
        (fill,) = match_order(spec, book, incoming).fills
        taker_fee = charge_fill(OrderFees(), spec, Liquidity.TAKER, fill.qty, fill.price).fee
        maker_fee = charge_fill(OrderFees(), spec, Liquidity.MAKER, fill.qty, fill.price).fee
        buyer_fee, seller_fee = (
            (taker_fee, maker_fee) if taker_side is Side.BUY else (maker_fee, taker_fee)
        )
        buyer_cash = fill_cash_delta(spec, buyer_net, Side.BUY, fill.qty, fill.price) - buyer_fee
        seller_cash = (
            fill_cash_delta(spec, seller_net, Side.SELL, fill.qty, fill.price) - seller_fee
        )
        exchange = taker_fee + maker_fee  # taker fee in, maker rebate out
        pool = spec.dollars(
            open_interest_change(buyer_net, seller_net, fill.qty) * spec.price_scale
        )
        assert buyer_cash + seller_cash + exchange + pool == 0
        assert exchange >= 0

    def test_open_interest_change(self):
        assert open_interest_change(0, 0, 10) == 10  # both open
        assert open_interest_change(-10, 10, 10) == -10  # both close
        assert open_interest_change(0, 10, 10) == 0  # a long changes hands
        assert open_interest_change(-10, 0, 10) == 0  # a short changes hands
        assert open_interest_change(-4, 3, 10) == 10 - 4 - 3
