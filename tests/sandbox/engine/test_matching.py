"""Price-time priority matching in YES terms (API.md section 8 row 12, 5.5.1, 5.5.4)."""

from __future__ import annotations

import itertools
import random
from decimal import Decimal

import pytest

from sandbox.engine import (
    ExecutionType,
    IncomingOrder,
    InstrumentSpec,
    OrderState,
    OrderType,
    OrdRejectReason,
    RestingOrder,
    Side,
    TimeInForce,
    match_order,
    no_to_yes,
    unit_cost,
)

WHOLE = InstrumentSpec(
    "whole", price_scale=100, fractional_qty_scale=1, price_limit_low=1, price_limit_high=99
)
FRACTIONAL = InstrumentSpec("frac", price_scale=100, fractional_qty_scale=100)
FOK = TimeInForce.FILL_OR_KILL
IOC = TimeInForce.IMMEDIATE_OR_CANCEL
GTC = TimeInForce.GOOD_TILL_CANCEL

_seq = itertools.count(1)


def rest(
    side: Side,
    price: int,
    qty: int,
    *,
    oid: str | None = None,
    account: str = "house",
    priority: int | None = None,
) -> RestingOrder:
    n = next(_seq)
    return RestingOrder(
        order_id=oid or f"R{n}",
        account=account,
        side=side,
        price=price,
        leaves_qty=qty,
        priority=n if priority is None else priority,
    )


def buy(price: int | None, qty: int | None = None, **kw) -> IncomingOrder:
    return IncomingOrder(
        order_id="IN", account="alice", side=Side.BUY, price=price, order_qty=qty, **kw
    )


def sell(price: int | None, qty: int | None = None, **kw) -> IncomingOrder:
    return IncomingOrder(
        order_id="IN", account="alice", side=Side.SELL, price=price, order_qty=qty, **kw
    )


class TestLimitOrders:
    def test_rests_on_an_empty_book(self):
        result = match_order(WHOLE, [], buy(45, 10))
        assert result.state is OrderState.NEW
        assert result.rests
        assert (result.rest_price, result.leaves_qty, result.cum_qty, result.order_qty) == (
            45,
            10,
            0,
            10,
        )
        assert result.execution_types == (ExecutionType.NEW,)

    def test_does_not_cross_a_worse_price(self):
        result = match_order(WHOLE, [rest(Side.SELL, 46, 10)], buy(45, 10))
        assert result.fills == ()
        assert result.state is OrderState.NEW

    def test_fills_at_the_resting_price(self):
        result = match_order(WHOLE, [rest(Side.SELL, 40, 10, oid="A")], buy(45, 10))
        assert result.state is OrderState.FILLED
        (fill,) = result.fills
        assert (fill.resting_order_id, fill.price, fill.qty, fill.resting_leaves_qty) == (
            "A",
            40,
            10,
            0,
        )
        assert fill.resting_execution_type is ExecutionType.FILL
        assert fill.taker_side is Side.BUY
        assert result.avg_px == 40
        assert not result.rests
        assert result.execution_types == (ExecutionType.NEW, ExecutionType.FILL)

    def test_price_then_time_priority_for_a_buy(self):
        book = [
            rest(Side.SELL, 42, 5, oid="late-42", priority=5),
            rest(Side.SELL, 41, 5, oid="late-41", priority=4),
            rest(Side.SELL, 41, 5, oid="early-41", priority=1),
            rest(Side.BUY, 40, 5, oid="bid"),
            rest(Side.SELL, 43, 5, oid="too-high"),
        ]
        result = match_order(WHOLE, book, buy(42, 12))
        assert [(f.resting_order_id, f.qty) for f in result.fills] == [
            ("early-41", 5),
            ("late-41", 5),
            ("late-42", 2),
        ]
        assert result.fills[-1].resting_leaves_qty == 3
        assert result.fills[-1].resting_execution_type is ExecutionType.PARTIAL_FILL
        assert result.state is OrderState.FILLED
        assert result.avg_px == round((41 * 10 + 42 * 2) / 12)
        assert result.price_to_quantity_filled == {41: 10, 42: 2}

    def test_price_then_time_priority_for_a_sell(self):
        book = [
            rest(Side.BUY, 50, 5, oid="b50-late", priority=9),
            rest(Side.BUY, 52, 5, oid="b52"),
            rest(Side.BUY, 50, 5, oid="b50-early", priority=2),
        ]
        result = match_order(WHOLE, book, sell(50, 12))
        assert [f.resting_order_id for f in result.fills] == ["b52", "b50-early", "b50-late"]
        assert [f.qty for f in result.fills] == [5, 5, 2]

    def test_partial_fill_rests_the_remainder(self):
        result = match_order(WHOLE, [rest(Side.SELL, 40, 4)], buy(45, 10))
        assert result.state is OrderState.PARTIALLY_FILLED
        assert result.rests
        assert (result.cum_qty, result.leaves_qty, result.rest_price) == (4, 6, 45)
        assert result.fills[0].taker_cum_qty == 4
        assert result.fills[0].taker_leaves_qty == 6
        assert result.execution_types == (ExecutionType.NEW, ExecutionType.PARTIAL_FILL)

    @pytest.mark.parametrize(
        "tif", [TimeInForce.DAY, TimeInForce.GOOD_TILL_CANCEL, TimeInForce.GOOD_TILL_TIME]
    )
    def test_resting_time_in_force(self, tif):
        assert match_order(WHOLE, [], buy(45, 10, time_in_force=tif)).rests

    def test_empty_or_zero_resting_orders_are_skipped(self):
        result = match_order(WHOLE, [rest(Side.SELL, 40, 0), rest(Side.SELL, 41, 3)], buy(45, 3))
        assert [f.price for f in result.fills] == [41]

    def test_avg_px_rounds_half_to_even(self):
        result = match_order(WHOLE, [rest(Side.SELL, 97, 1), rest(Side.SELL, 98, 1)], buy(98, 2))
        assert result.avg_px == 98  # 97.5 -> 98 (even)
        result = match_order(WHOLE, [rest(Side.SELL, 96, 1), rest(Side.SELL, 97, 1)], buy(98, 2))
        assert result.avg_px == 96  # 96.5 -> 96 (even)

    def test_fractional_quantities(self):
        result = match_order(FRACTIONAL, [rest(Side.SELL, 97, 1000)], buy(97, 312))
        assert result.fills[0].qty == 312
        assert result.state is OrderState.FILLED


class TestImmediateOrCancel:
    def test_remainder_is_cancelled(self):
        result = match_order(WHOLE, [rest(Side.SELL, 40, 4)], buy(45, 10, time_in_force=IOC))
        assert result.state is OrderState.CANCELED
        assert (result.cum_qty, result.leaves_qty, result.rests) == (4, 0, False)
        assert result.execution_types == (
            ExecutionType.NEW,
            ExecutionType.PARTIAL_FILL,
            ExecutionType.CANCELED,
        )

    def test_no_fill_is_cancelled(self):
        result = match_order(WHOLE, [], buy(45, 10, time_in_force=IOC))
        assert result.state is OrderState.CANCELED
        assert result.execution_types == (ExecutionType.NEW, ExecutionType.CANCELED)

    def test_complete_fill(self):
        result = match_order(WHOLE, [rest(Side.SELL, 40, 10)], buy(45, 10, time_in_force=IOC))
        assert result.state is OrderState.FILLED


class TestFillOrKill:
    def test_cannot_fill_fully_expires_without_fills(self):
        result = match_order(WHOLE, [rest(Side.SELL, 40, 4)], buy(45, 10, time_in_force=FOK))
        assert result.state is OrderState.EXPIRED
        assert result.fills == ()
        assert (result.cum_qty, result.leaves_qty, result.rests) == (0, 0, False)
        assert result.execution_types == (ExecutionType.NEW, ExecutionType.EXPIRED)

    def test_fills_fully_across_levels(self):
        book = [rest(Side.SELL, 40, 4), rest(Side.SELL, 45, 6), rest(Side.SELL, 46, 100)]
        result = match_order(WHOLE, book, buy(45, 10, time_in_force=FOK))
        assert result.state is OrderState.FILLED
        assert sum(f.qty for f in result.fills) == 10

    @pytest.mark.parametrize("seed", range(60))
    def test_never_partially_fills(self, seed):
        rng = random.Random(seed)
        book = [
            rest(rng.choice(list(Side)), rng.randint(1, 99), rng.randint(1, 20))
            for _ in range(rng.randint(0, 12))
        ]
        side = rng.choice(list(Side))
        if rng.random() < 0.5:
            order = IncomingOrder(
                "IN",
                "alice",
                side,
                price=rng.randint(1, 99),
                order_qty=rng.randint(1, 60),
                time_in_force=FOK,
            )
        else:
            order = IncomingOrder(
                "IN",
                "alice",
                side,
                price=rng.randint(1, 99),
                cash_order_qty=rng.randint(100, 5000),
                time_in_force=FOK,
            )
        result = match_order(WHOLE, book, order)
        assert result.state in (OrderState.FILLED, OrderState.EXPIRED)
        assert not result.rests
        if result.state is OrderState.EXPIRED:
            assert result.fills == ()
        elif order.order_qty is not None:
            assert sum(f.qty for f in result.fills) == order.order_qty


class TestBookInvariants:
    @pytest.mark.parametrize("seed", range(60))
    def test_fills_respect_limit_leaves_and_priority(self, seed):
        rng = random.Random(1000 + seed)
        book = [
            rest(
                rng.choice(list(Side)),
                rng.randint(1, 99),
                rng.randint(1, 20),
                priority=rng.randint(0, 5),
            )
            for _ in range(rng.randint(0, 15))
        ]
        side = rng.choice(list(Side))
        limit = rng.randint(1, 99)
        qty = rng.randint(1, 80)
        tif = rng.choice(list(TimeInForce))
        result = match_order(
            WHOLE,
            book,
            IncomingOrder("IN", "alice", side, price=limit, order_qty=qty, time_in_force=tif),
        )
        by_id = {o.order_id: o for o in book}
        filled = sum(f.qty for f in result.fills)
        assert filled == result.cum_qty <= qty
        assert result.cum_qty + result.leaves_qty <= qty
        for fill in result.fills:
            resting = by_id[fill.resting_order_id]
            assert resting.side is not side
            assert fill.price == resting.price
            assert fill.price <= limit if side is Side.BUY else fill.price >= limit
            assert fill.resting_leaves_qty == resting.leaves_qty - fill.qty >= 0
        # Anything better than the worst fill was taken entirely (price-time priority).
        if result.fills:
            worst = result.fills[-1].price
            taken = {f.resting_order_id for f in result.fills}
            for order in book:
                better = order.price < worst if side is Side.BUY else order.price > worst
                if order.side is not side and better:
                    assert order.order_id in taken
                    assert (
                        next(
                            f for f in result.fills if f.resting_order_id == order.order_id
                        ).resting_leaves_qty
                        == 0
                    )
        # Nothing left that could still have crossed when the order rests.
        if result.rests:
            for order in book:
                if order.side is not side and order.order_id not in {
                    f.resting_order_id for f in result.fills
                }:
                    assert order.price > limit if side is Side.BUY else order.price < limit


class TestCashOrders:
    def test_documented_20_dollars_at_80_cents_buys_25(self):
        result = match_order(
            WHOLE, [rest(Side.SELL, 80, 1000)], buy(80, cash_order_qty=2000, time_in_force=FOK)
        )
        assert result.state is OrderState.FILLED
        assert result.fills[0].qty == 25
        assert result.cum_qty == result.order_qty == 25

    def test_price_improvement_buys_partial_contracts_at_scale_100(self):
        result = match_order(
            FRACTIONAL,
            [rest(Side.SELL, 32, 100000)],
            buy(80, cash_order_qty=2000, time_in_force=FOK),
        )
        assert result.fills[0].qty == 6250  # 62.5 contracts
        assert FRACTIONAL.contracts(result.cum_qty) == Decimal("62.5")

    def test_whole_contracts_round_down(self):
        result = match_order(
            WHOLE, [rest(Side.SELL, 32, 1000)], buy(80, cash_order_qty=2000, time_in_force=IOC)
        )
        assert result.fills[0].qty == 62
        assert result.state is OrderState.FILLED  # $0.16 left cannot buy one more at $0.80

    def test_documented_sell_spends_no_collateral(self):
        # SELL $20 at YES 0.80 buys 100 NO at $0.20.
        result = match_order(
            WHOLE, [rest(Side.BUY, 80, 1000)], sell(80, cash_order_qty=2000, time_in_force=FOK)
        )
        assert result.fills[0].qty == 100
        assert unit_cost(Side.SELL, 80, 100) * 100 == 2000

    def test_walks_levels_with_exact_budget(self):
        book = [rest(Side.SELL, 40, 3), rest(Side.SELL, 50, 100)]
        result = match_order(WHOLE, book, buy(50, cash_order_qty=1000, time_in_force=FOK))
        # 3 @ 0.40 = 1.20, then 8.80 / 0.50 = 17.6 -> 17, leaving 0.30 (< 0.50).
        assert [(f.price, f.qty) for f in result.fills] == [(40, 3), (50, 17)]
        assert result.state is OrderState.FILLED

    def test_fok_cash_without_enough_liquidity_expires(self):
        result = match_order(
            WHOLE, [rest(Side.SELL, 80, 10)], buy(80, cash_order_qty=2000, time_in_force=FOK)
        )
        assert result.state is OrderState.EXPIRED
        assert result.fills == ()

    def test_resting_cash_order_converts_its_remainder_at_the_limit(self):
        result = match_order(WHOLE, [rest(Side.SELL, 40, 10)], buy(50, cash_order_qty=1000))
        # 10 @ 0.40 = 4.00; 6.00 left rests as 12 @ 0.50.
        assert result.state is OrderState.PARTIALLY_FILLED
        assert (result.cum_qty, result.leaves_qty, result.order_qty, result.rest_price) == (
            10,
            12,
            22,
            50,
        )
        assert result.fills[0].taker_leaves_qty == 12

    def test_cash_too_small_for_one_unit_is_rejected(self):
        result = match_order(WHOLE, [], buy(80, cash_order_qty=79))
        assert result.state is OrderState.REJECTED
        assert result.reject_reason is OrdRejectReason.INCORRECT_QUANTITY

    @pytest.mark.parametrize("seed", range(40))
    def test_never_spends_more_than_the_principal(self, seed):
        rng = random.Random(2000 + seed)
        spec = rng.choice([WHOLE, FRACTIONAL])
        side = rng.choice(list(Side))
        book = [
            rest(side.opposite, rng.randint(1, 99), rng.randint(1, 3000))
            for _ in range(rng.randint(1, 8))
        ]
        cash = rng.randint(100, 20000)
        limit = rng.randint(1, 99)
        order = IncomingOrder(
            "IN",
            "alice",
            side,
            price=limit,
            cash_order_qty=cash,
            time_in_force=rng.choice([IOC, GTC, FOK]),
        )
        result = match_order(spec, book, order)
        if result.state is OrderState.REJECTED:
            assert cash * spec.fractional_qty_scale < unit_cost(side, limit, 100)
            return
        spent = sum(f.qty * unit_cost(side, f.price, 100) for f in result.fills)
        resting = result.leaves_qty * unit_cost(side, limit, 100)
        assert spent + resting <= cash * spec.fractional_qty_scale
        if result.state is OrderState.FILLED:
            assert cash * spec.fractional_qty_scale - spent < unit_cost(side, limit, 100)


class TestMarketToLimit:
    def test_sweeps_then_rests_at_the_last_fill_price(self):
        book = [rest(Side.SELL, 40, 3), rest(Side.SELL, 60, 2)]
        result = match_order(WHOLE, book, buy(None, 10, order_type=OrderType.MARKET_TO_LIMIT))
        assert [f.price for f in result.fills] == [40, 60]
        assert result.state is OrderState.PARTIALLY_FILLED
        assert (result.rests, result.rest_price, result.leaves_qty) == (True, 60, 5)

    def test_respects_its_protection_price(self):
        book = [rest(Side.SELL, 40, 3), rest(Side.SELL, 60, 2)]
        result = match_order(
            WHOLE, book, buy(50, 10, order_type=OrderType.MARKET_TO_LIMIT, time_in_force=IOC)
        )
        assert [f.price for f in result.fills] == [40]
        assert result.state is OrderState.CANCELED

    def test_no_liquidity_is_rejected(self):
        result = match_order(
            WHOLE, [rest(Side.BUY, 40, 3)], buy(None, 10, order_type=OrderType.MARKET_TO_LIMIT)
        )
        assert result.state is OrderState.REJECTED
        assert result.reject_reason is OrdRejectReason.NO_LIQUIDITY
        assert result.execution_types == (ExecutionType.REJECTED,)

    def test_sell_sweeps_bids_down_to_the_price_limit(self):
        book = [rest(Side.BUY, 1, 3), rest(Side.BUY, 30, 2)]
        result = match_order(WHOLE, book, sell(None, 5, order_type=OrderType.MARKET_TO_LIMIT))
        assert [f.price for f in result.fills] == [30, 1]
        assert result.state is OrderState.FILLED

    def test_cash_market_to_limit(self):
        result = match_order(
            WHOLE,
            [rest(Side.SELL, 50, 100)],
            buy(None, cash_order_qty=1000, order_type=OrderType.MARKET_TO_LIMIT),
        )
        assert result.fills[0].qty == 20
        assert result.state is OrderState.FILLED

    def test_cash_market_to_limit_too_small_for_the_best_level(self):
        result = match_order(
            WHOLE,
            [rest(Side.SELL, 50, 100)],
            buy(None, cash_order_qty=40, order_type=OrderType.MARKET_TO_LIMIT),
        )
        assert result.state is OrderState.REJECTED
        assert result.reject_reason is OrdRejectReason.INCORRECT_QUANTITY


class TestValidation:
    @pytest.mark.parametrize(
        ("order", "reason"),
        [
            (buy(45, 10, order_type=OrderType.STOP), OrdRejectReason.INCORRECT_ORDER_TYPE),
            (buy(45, 10, order_type=OrderType.STOP_LIMIT), OrdRejectReason.INCORRECT_ORDER_TYPE),
            (buy(45, None), OrdRejectReason.INCORRECT_QUANTITY),
            (buy(45, 10, cash_order_qty=100), OrdRejectReason.INCORRECT_QUANTITY),
            (buy(45, 0), OrdRejectReason.INCORRECT_QUANTITY),
            (buy(45, -1), OrdRejectReason.INCORRECT_QUANTITY),
            (buy(45, None, cash_order_qty=0), OrdRejectReason.INCORRECT_QUANTITY),
            (buy(None, 10), OrdRejectReason.INVALID_PRICE_INCREMENT),
            (buy(0, 10), OrdRejectReason.PRICE_OUT_OF_BOUNDS),
            (buy(100, 10), OrdRejectReason.PRICE_OUT_OF_BOUNDS),
        ],
    )
    def test_rejects(self, order, reason):
        result = match_order(WHOLE, [rest(Side.SELL, 1, 100)], order)
        assert result.state is OrderState.REJECTED
        assert result.reject_reason is reason
        assert result.fills == ()

    def test_tick_and_limits_at_scale_1000(self):
        spec = InstrumentSpec(
            "x",
            price_scale=1000,
            tick_size=Decimal("0.005"),
            price_limit_low=10,
            price_limit_high=990,
        )
        assert (
            match_order(spec, [], buy(527, 1)).reject_reason
            is OrdRejectReason.INVALID_PRICE_INCREMENT
        )
        assert (
            match_order(spec, [], buy(995, 1)).reject_reason is OrdRejectReason.PRICE_OUT_OF_BOUNDS
        )
        assert match_order(spec, [], buy(5, 1)).reject_reason is OrdRejectReason.PRICE_OUT_OF_BOUNDS
        assert match_order(spec, [], buy(525, 1)).state is OrderState.NEW


class TestNoToYes:
    def test_buy_no_is_sell_yes_at_the_complement(self):
        assert no_to_yes(Side.BUY, 20, 100) == (Side.SELL, 80)
        assert no_to_yes(Side.SELL, 20, 100) == (Side.BUY, 80)
        assert no_to_yes(Side.BUY, 475, 1000) == (Side.SELL, 525)

    @pytest.mark.parametrize("price", [1, 37, 50, 99])
    def test_is_its_own_inverse(self, price):
        side, yes = no_to_yes(Side.BUY, price, 100)
        assert no_to_yes(side, yes, 100) == (Side.BUY, price)

    @pytest.mark.parametrize("price", [0, 100, -5])
    def test_refuses_prices_outside_zero_and_one(self, price):
        with pytest.raises(ValueError, match="outside"):
            no_to_yes(Side.BUY, price, 100)


def test_enum_wire_names():
    assert Side.BUY.wire == "SIDE_BUY"
    assert TimeInForce.FILL_OR_KILL.wire == "TIME_IN_FORCE_FILL_OR_KILL"
    assert OrderState.from_wire("ORDER_STATE_PARTIALLY_FILLED") is OrderState.PARTIALLY_FILLED
    assert OrderType.from_wire("LIMIT") is OrderType.LIMIT
    assert OrdRejectReason.from_wire(7) is OrdRejectReason.NO_LIQUIDITY
    assert int(TimeInForce.GOOD_TILL_TIME) == 4
    assert ExecutionType.EXPIRED.wire == "EXECUTION_TYPE_EXPIRED"
