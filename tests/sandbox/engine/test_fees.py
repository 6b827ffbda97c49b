"""Fees of API.md 5.5.6: the formula, banker's rounding per fill, the cumulative cap, the examples."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from sandbox.engine import (
    InstrumentSpec,
    Liquidity,
    OrderFees,
    Side,
    charge_fill,
    commission_to_fee,
    exact_fee,
    fee_to_commission,
    fill_fee,
    round_to_cent,
    worst_case_taker_fee,
)

FRACTIONAL = InstrumentSpec("frac", price_scale=100, fractional_qty_scale=100)
WHOLE = InstrumentSpec("whole", price_scale=100, fractional_qty_scale=1)


class TestWorkedExamples:
    def test_312_units_at_97_on_scales_100_100(self):
        # 3.12 contracts @ $0.97 -> exact $0.006310044 -> banker's rounding -> $0.01 -> "100".
        assert exact_fee(FRACTIONAL.contracts(312), FRACTIONAL.price(97), Liquidity.TAKER) == (
            Decimal("0.006310044")
        )
        charge = charge_fill(OrderFees(), FRACTIONAL, Liquidity.TAKER, 312, 97)
        assert charge.fee == Decimal("0.01")
        assert charge.commission_notional == 100
        principal = FRACTIONAL.dollars(312 * 97)
        assert principal == Decimal("3.0264")
        assert principal + charge.fee == Decimal("3.0364")  # the documented ledger debit

    def test_100_at_97_whole_contracts_taker(self):
        charge = charge_fill(OrderFees(), WHOLE, Liquidity.TAKER, 100, 97)
        assert charge.fee == Decimal("0.20")
        assert charge.commission_notional == 20

    def test_100_at_97_whole_contracts_maker_rebate(self):
        charge = charge_fill(OrderFees(), WHOLE, Liquidity.MAKER, 100, 97)
        assert charge.fee == Decimal("-0.04")
        assert charge.commission_notional == -4
        assert commission_to_fee(-4, WHOLE) == Decimal("-0.04")

    def test_fractional_fee_at_scale_1000(self):
        spec = InstrumentSpec(
            "x", price_scale=1000, fractional_qty_scale=1, tick_size=Decimal("0.005")
        )
        assert fee_to_commission(Decimal("0.01"), spec) == 10


class TestFillFee:
    def test_first_fill_is_plain_bankers_rounding(self):
        assert fill_fee(Decimal("0.015"), Decimal(0), Decimal(0)) == Decimal("0.02")
        assert fill_fee(Decimal("0.025"), Decimal(0), Decimal(0)) == Decimal("0.02")
        assert fill_fee(Decimal("0.0049"), Decimal(0), Decimal(0)) == Decimal("0.00")

    def test_cap_lowers_a_fill_that_would_overshoot(self):
        # Two fills of 0.006 each: per fill 0.01 + 0.01 = 0.02, but round(0.012) = 0.01.
        first = fill_fee(Decimal("0.006"), Decimal(0), Decimal(0))
        second = fill_fee(Decimal("0.006"), Decimal("0.006"), first)
        assert (first, second) == (Decimal("0.01"), Decimal("0.00"))

    def test_cap_does_not_top_up(self):
        # Three fills of 0.004: each rounds to 0, cumulative exact 0.012 rounds to 0.01: not charged.
        charged = Decimal(0)
        exact = Decimal(0)
        for _ in range(3):
            fee = fill_fee(Decimal("0.004"), exact, charged)
            exact += Decimal("0.004")
            charged += fee
        assert charged == 0

    def test_rebates_are_capped_in_magnitude(self):
        first = fill_fee(Decimal("-0.006"), Decimal(0), Decimal(0))
        second = fill_fee(Decimal("-0.006"), Decimal("-0.006"), first)
        assert (first, second) == (Decimal("-0.01"), Decimal("0.00"))
        assert str(second) == "0.00"

    def test_zero_fee(self):
        assert fill_fee(Decimal(0), Decimal("0.3"), Decimal("0.3")) == 0

    def test_mixing_fees_and_rebates_is_refused(self):
        with pytest.raises(ValueError, match="separately"):
            fill_fee(Decimal("0.01"), Decimal("-0.02"), Decimal(0))

    @pytest.mark.parametrize("seed", range(40))
    def test_cumulative_charged_never_exceeds_rounded_cumulative_exact(self, seed):
        rng = random.Random(seed)
        spec = InstrumentSpec(
            "p", price_scale=1000, fractional_qty_scale=100, tick_size=Decimal("0.005")
        )
        liquidity = rng.choice([Liquidity.TAKER, Liquidity.MAKER])
        fees = OrderFees()
        exact = Decimal(0)
        for _ in range(rng.randint(1, 30)):
            qty = rng.randint(1, 5000)
            price = rng.choice(spec.valid_prices())
            exact += exact_fee(spec.contracts(qty), spec.price(price), liquidity)
            charge = charge_fill(fees, spec, liquidity, qty, price)
            fees = charge.fees
            assert charge.fee == round_to_cent(charge.fee)  # whole cents
            assert charge.fee * (1 if liquidity is Liquidity.TAKER else -1) >= 0  # never flips sign
            assert abs(fees.charged) <= abs(round_to_cent(exact))
            assert charge.commission_notional == fee_to_commission(charge.fee, spec)
        tally = fees.taker if liquidity is Liquidity.TAKER else fees.maker
        assert tally.exact == exact
        # Rounding per fill can lose at most half a cent per fill against the exact total.
        assert abs(round_to_cent(exact)) - abs(fees.charged) >= 0


def test_order_fees_keep_taker_and_maker_apart():
    fees = charge_fill(OrderFees(), WHOLE, Liquidity.TAKER, 100, 97).fees
    fees = charge_fill(fees, WHOLE, Liquidity.MAKER, 100, 97).fees
    assert fees.taker.charged == Decimal("0.20")
    assert fees.maker.charged == Decimal("-0.04")
    assert fees.charged == Decimal("0.16")


class TestWorstCaseTakerFee:
    def test_buy_limit_below_half_peaks_at_the_limit(self):
        # p(1-p) grows towards 0.5, so a buy limited at 0.30 is worst when filled at 0.30.
        fee = worst_case_taker_fee(WHOLE, Side.BUY, 30, qty=100)
        assert fee == round_to_cent(exact_fee(Decimal(100), Decimal("0.30"), Liquidity.TAKER))

    def test_buy_limit_above_half_peaks_at_half(self):
        fee = worst_case_taker_fee(WHOLE, Side.BUY, 97, qty=100)
        assert fee == round_to_cent(Decimal("0.0695") * 100 * Decimal("0.25"))

    def test_sell_limit_above_half_peaks_at_the_limit(self):
        fee = worst_case_taker_fee(WHOLE, Side.SELL, 97, qty=100)
        assert fee == Decimal("0.20")

    def test_cash_buy_is_worst_at_the_lowest_price(self):
        # Contracts = principal / p, so fee = theta x principal x (1 - p), largest at p = 0.01.
        fee = worst_case_taker_fee(WHOLE, Side.BUY, 80, cash_order_qty=2000)
        assert fee == round_to_cent(Decimal("0.0695") * 20 * Decimal("0.99"))

    def test_cash_sell_is_worst_at_the_highest_price(self):
        fee = worst_case_taker_fee(WHOLE, Side.SELL, 80, cash_order_qty=2000)
        assert fee == round_to_cent(Decimal("0.0695") * 20 * Decimal("0.99"))

    @pytest.mark.parametrize(
        "instrument",
        [
            WHOLE,
            FRACTIONAL,
            InstrumentSpec("half-cent", price_scale=1000, fractional_qty_scale=100, tick_size=Decimal("0.005")),
            InstrumentSpec("limited", price_scale=100, fractional_qty_scale=1, price_limit_low=20, price_limit_high=40),
        ],
        ids=lambda i: i.symbol,
    )  # fmt: skip
    def test_same_as_trying_every_reachable_price(self, instrument):
        def every_price(side, limit, qty=None, cash=None):
            worst = Decimal(0)
            for p in instrument.valid_prices():
                if (p > limit) if side is Side.BUY else (p < limit):
                    continue
                dollars = instrument.price(p)
                contracts = (
                    instrument.contracts(qty)
                    if qty is not None
                    else Decimal(cash)
                    / instrument.price_scale
                    / (dollars if side is Side.BUY else 1 - dollars)
                )
                worst = max(worst, exact_fee(contracts, dollars, Liquidity.TAKER))
            return round_to_cent(worst)

        scale = instrument.price_scale
        for side in Side:
            for limit in range(0, scale + 1, max(instrument.tick_step, scale // 40)):
                for kind in (
                    {"qty": 37 * instrument.fractional_qty_scale},
                    {"cash_order_qty": 25 * scale},
                ):
                    fast = worst_case_taker_fee(instrument, side, limit, **kind)
                    slow = every_price(side, limit, kind.get("qty"), kind.get("cash_order_qty"))
                    assert fast == slow, (side, limit, kind)

    def test_needs_exactly_one_quantity(self):
        with pytest.raises(ValueError, match="exactly one"):
            worst_case_taker_fee(WHOLE, Side.BUY, 50)
