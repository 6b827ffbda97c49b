"""Collateral, acceptance, auto-cancel and withdrawable cash (API.md 5.5.5, 5.3.4 end)."""

from __future__ import annotations

import itertools
import random
from decimal import Decimal

import pytest

from sandbox.engine import (
    BalanceSummary,
    IncomingOrder,
    InstrumentSpec,
    OrderType,
    RestingOrder,
    Side,
    balance_summary,
    check_order,
    fill_cash_delta,
    open_orders_requirement,
    unfunded_orders,
    withdrawable_cash,
)

WHOLE = InstrumentSpec("whole", price_scale=100, fractional_qty_scale=1)
FINE = InstrumentSpec(
    "fine", price_scale=1000, fractional_qty_scale=100, tick_size=Decimal("0.005")
)
_seq = itertools.count(1)


def order(
    side: Side, price: int, qty: int, oid: str | None = None, priority: int | None = None
) -> RestingOrder:
    n = next(_seq)
    return RestingOrder(
        oid or f"O{n}", "alice", side, price, qty, priority if priority is not None else n
    )


def new(
    side: Side, price: int | None, qty: int | None = None, cash: int | None = None, **kw
) -> IncomingOrder:
    return IncomingOrder(
        "NEW", "alice", side, price=price, order_qty=qty, cash_order_qty=cash, **kw
    )


class TestRequirement:
    def test_bids_cost_their_price(self):
        assert open_orders_requirement(
            WHOLE, 0, [order(Side.BUY, 40, 10), order(Side.BUY, 30, 10)]
        ) == Decimal("7.00")

    def test_offers_from_flat_lock_one_minus_price(self):
        assert open_orders_requirement(WHOLE, 0, [order(Side.SELL, 40, 10)]) == Decimal("6.00")

    def test_offers_closing_a_long_need_nothing(self):
        assert open_orders_requirement(WHOLE, 10, [order(Side.SELL, 40, 10)]) == 0

    def test_offers_beyond_the_long_lock_for_the_excess_net_of_proceeds(self):
        # Long 10; sell 15 @ 0.40: 10 close (+4.00), 5 open (-3.00) -> no requirement.
        assert open_orders_requirement(WHOLE, 10, [order(Side.SELL, 40, 15)]) == 0
        # Long 2; sell 10 @ 0.40: +0.80 - 8 x 0.60 = -4.00.
        assert open_orders_requirement(WHOLE, 2, [order(Side.SELL, 40, 10)]) == Decimal("4.00")

    def test_bids_closing_a_short_release_collateral(self):
        assert open_orders_requirement(WHOLE, -10, [order(Side.BUY, 60, 10)]) == 0
        # Short 10, bid 20 @ 0.60: 10 close (+4.00), 10 open (-6.00) -> 2.00.
        assert open_orders_requirement(WHOLE, -10, [order(Side.BUY, 60, 20)]) == Decimal("2.00")

    def test_worst_of_bids_and_offers_not_their_sum(self):
        orders = [order(Side.BUY, 40, 10), order(Side.SELL, 60, 10)]  # 4.00 vs 4.00
        assert open_orders_requirement(WHOLE, 0, orders) == Decimal("4.00")
        orders.append(order(Side.SELL, 50, 10))  # offers now 4.00 + 5.00
        assert open_orders_requirement(WHOLE, 0, orders) == Decimal("9.00")

    def test_fractional_instrument(self):
        # 312 units = 3.12 contracts @ 0.97 at scales 1000/100.
        assert open_orders_requirement(FINE, 0, [order(Side.BUY, 970, 312)]) == Decimal("3.0264")

    def test_no_orders(self):
        assert open_orders_requirement(WHOLE, -50, []) == 0

    @pytest.mark.parametrize("seed", range(80))
    def test_covers_every_bid_or_offer_scenario_exactly(self, seed):
        """Fill all bids (or all offers) one by one at their limits: the cash dips by the requirement."""
        rng = random.Random(seed)
        spec = rng.choice([WHOLE, FINE])
        net = rng.randint(-50, 50)
        orders = [
            order(rng.choice(list(Side)), rng.choice(spec.valid_prices()), rng.randint(1, 40))
            for _ in range(rng.randint(0, 8))
        ]
        requirement = open_orders_requirement(spec, net, orders)
        worst = Decimal(0)
        for side in Side:
            position = net
            cash = Decimal(0)
            lowest = Decimal(0)
            side_orders = [o for o in orders if o.side is side]
            rng.shuffle(side_orders)
            for o in side_orders:
                cash += fill_cash_delta(spec, position, side, o.leaves_qty, o.price)
                position += side.sign * o.leaves_qty
                lowest = min(lowest, cash)
            worst = min(worst, lowest)
        assert requirement == -worst


class TestCheckOrder:
    def test_buy_needs_principal_plus_worst_case_fee(self):
        check = check_order(WHOLE, Decimal("5.17"), 0, [], new(Side.BUY, 50, 10))
        assert check.collateral == Decimal("5.00")
        assert check.fee == Decimal("0.17")  # 0.0695 x 10 x 0.25 = 0.17375
        assert check.required == Decimal("5.17")
        assert check.affordable
        assert check.shortfall == 0
        poorer = check_order(WHOLE, Decimal("5.16"), 0, [], new(Side.BUY, 50, 10))
        assert not poorer.affordable
        assert poorer.shortfall == Decimal("0.01")

    def test_short_sale_locks_one_minus_price(self):
        check = check_order(WHOLE, Decimal(100), 0, [], new(Side.SELL, 40, 10))
        assert check.collateral == Decimal("6.00")

    def test_closing_a_long_needs_only_the_fee(self):
        check = check_order(WHOLE, Decimal("0.17"), 10, [], new(Side.SELL, 40, 10))
        assert check.collateral == 0
        assert check.affordable

    def test_aggregates_with_open_orders_in_the_same_instrument(self):
        check = check_order(
            WHOLE, Decimal(100), 0, [order(Side.BUY, 40, 10)], new(Side.BUY, 50, 10)
        )
        assert check.collateral == Decimal("9.00")
        # An offer against bids: the worse side counts, not the sum.
        check = check_order(
            WHOLE, Decimal(100), 0, [order(Side.BUY, 40, 10)], new(Side.SELL, 60, 10)
        )
        assert check.collateral == Decimal("4.00")

    def test_cash_buy_reserves_its_principal(self):
        check = check_order(WHOLE, Decimal(100), 0, [], new(Side.BUY, 80, cash=2000))
        assert check.collateral == Decimal("20.00")

    def test_cash_sell_reserves_its_no_collateral(self):
        check = check_order(WHOLE, Decimal(100), 0, [], new(Side.SELL, 80, cash=2000))
        assert check.collateral == Decimal("20.00")  # 100 NO at 0.20

    def test_market_to_limit_is_checked_at_its_collar(self):
        check = check_order(
            WHOLE,
            Decimal(100),
            0,
            [],
            new(Side.BUY, None, 10, order_type=OrderType.MARKET_TO_LIMIT),
        )
        assert check.collateral == Decimal("9.90")


class TestUnfundedOrders:
    def test_everything_funded(self):
        assert unfunded_orders(WHOLE, Decimal(10), 0, [order(Side.BUY, 50, 10)]) == ()

    def test_cancels_most_recent_first_until_funded(self):
        orders = [
            order(Side.BUY, 50, 5, oid="old", priority=1),
            order(Side.BUY, 60, 5, oid="new", priority=3),
            order(Side.BUY, 10, 5, oid="mid", priority=2),
        ]
        # Needs 2.50 + 3.00 + 0.50 = 6.00; with 3.00 cash drop "new" (3.00 left) and it fits.
        assert unfunded_orders(WHOLE, Decimal(3), 0, orders) == ("new",)
        assert unfunded_orders(WHOLE, Decimal("2.99"), 0, orders) == ("new", "mid")
        assert unfunded_orders(WHOLE, Decimal(0), 0, orders) == ("new", "mid", "old")

    def test_only_the_side_that_is_short_of_cash(self):
        orders = [order(Side.BUY, 50, 10, oid="bid"), order(Side.SELL, 90, 10, oid="offer")]
        # Bids need 5.00, offers 1.00; with 2.00 the bid goes, the offer stays.
        assert unfunded_orders(WHOLE, Decimal(2), 0, orders) == ("bid",)

    def test_closing_offers_stay_when_the_position_covers_them(self):
        orders = [order(Side.SELL, 50, 10, oid="close")]
        assert unfunded_orders(WHOLE, Decimal(0), 10, orders) == ()

    @pytest.mark.parametrize("seed", range(40))
    def test_what_is_left_is_funded(self, seed):
        rng = random.Random(300 + seed)
        orders = [
            order(rng.choice(list(Side)), rng.randint(1, 99), rng.randint(1, 20))
            for _ in range(rng.randint(0, 10))
        ]
        net = rng.randint(-30, 30)
        cash = Decimal(rng.randint(0, 3000)) / 100
        cancelled = set(unfunded_orders(WHOLE, cash, net, orders))
        left = [o for o in orders if o.order_id not in cancelled]
        assert open_orders_requirement(WHOLE, net, left) <= cash


class TestWithdrawals:
    def test_documented_example(self):
        # $100 buying power, $20 reserved in A and $30 in B -> at most $70 withdrawable.
        assert withdrawable_cash(Decimal(100), [Decimal(20), Decimal(30)]) == Decimal(70)

    def test_never_negative_and_no_orders(self):
        assert withdrawable_cash(Decimal(10), [Decimal(30)]) == 0
        assert withdrawable_cash(Decimal(10), []) == Decimal(10)

    def test_balance_summary_matches_the_documented_shape(self):
        summary = balance_summary(Decimal("1000.00"), [Decimal("249.50"), Decimal("100")])
        assert summary == BalanceSummary(
            balance=Decimal("1000.00"),
            open_orders=Decimal("249.50"),
            buying_power=Decimal("750.50"),
        )
