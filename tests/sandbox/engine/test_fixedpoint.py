"""Fixed-point conversions of API.md 4.5, against its own examples."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sandbox.engine import (
    InstrumentSpec,
    cash_qty_to_dollars,
    contracts_to_qty,
    dollars_to_cash_qty,
    dollars_to_notional,
    dollars_to_price,
    notional_to_dollars,
    price_to_dollars,
    qty_scale,
    qty_to_contracts,
    round_half_even_div,
    round_to_cent,
)


def test_documented_example_conversions_at_scales_100_100():
    assert dollars_to_price(Decimal("0.45"), 100) == 45
    assert price_to_dollars(45, 100) == Decimal("0.45")
    assert contracts_to_qty(Decimal(100), 100) == 10000
    assert qty_to_contracts(10000, 100) == 100
    assert dollars_to_cash_qty(Decimal(20), 100) == 2000
    assert cash_qty_to_dollars(2000, 100) == 20
    assert notional_to_dollars(100, 100, 100) == Decimal("0.01")


def test_price_scale_is_a_divisor_not_an_exponent():
    # Appendix B #6: 525 at priceScale 1000 is $0.525, not 525 / 10**1000.
    assert price_to_dollars(525, 1000) == Decimal("0.525")
    assert dollars_to_price(Decimal("0.525"), 1000) == 525


@pytest.mark.parametrize("raw", [0, None, "0", ""])
def test_zero_or_absent_fractional_scale_means_whole_contracts(raw):
    assert qty_scale(raw) == 1
    assert qty_to_contracts(7, raw) == 7


def test_negative_fractional_scale_is_refused():
    with pytest.raises(ValueError, match="negative"):
        qty_scale(-1)


@pytest.mark.parametrize(
    ("call", "args"),
    [
        (dollars_to_price, (Decimal("0.455"), 100)),
        (contracts_to_qty, (Decimal("0.001"), 100)),
        (dollars_to_cash_qty, (Decimal("0.001"), 100)),
        (dollars_to_notional, (Decimal("0.001"), 100, 1)),
    ],
)
def test_conversions_to_integers_are_strict(call, args):
    with pytest.raises(ValueError, match="whole number"):
        call(*args)


def test_notional_units_round_trip_commissions():
    assert notional_to_dollars(-4, 100, 1) == Decimal("-0.04")
    assert dollars_to_notional(Decimal("-0.04"), 100, 1) == -4
    assert dollars_to_notional(Decimal("0.01"), 1000, 0) == 10


def test_zero_price_scale_is_refused():
    with pytest.raises(ValueError, match="priceScale"):
        price_to_dollars(1, 0)


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (5, 2, 2),
        (7, 2, 4),
        (-5, 2, -2),
        (-7, 2, -4),
        (1, 3, 0),
        (2, 3, 1),
        (-2, 3, -1),
        (6, -4, -2),
    ],
)
def test_round_half_even_div(numerator, denominator, expected):
    assert round_half_even_div(numerator, denominator) == expected


def test_round_half_even_div_by_zero():
    with pytest.raises(ZeroDivisionError):
        round_half_even_div(1, 0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.005", "0.00"),
        ("0.015", "0.02"),
        ("0.0063", "0.01"),
        ("-0.036375", "-0.04"),
        ("0.025", "0.02"),
    ],
)
def test_round_to_cent_is_bankers_rounding(value, expected):
    assert round_to_cent(Decimal(value)) == Decimal(expected)


class TestInstrumentSpec:
    def test_tick_steps(self):
        assert InstrumentSpec("x", price_scale=1000, tick_size=Decimal("0.005")).tick_step == 5
        assert InstrumentSpec("x", price_scale=10000, tick_size=Decimal("0.0025")).tick_step == 25

    def test_quarter_cent_tick_needs_a_finer_price_scale(self):
        # 0.0025 at priceScale 1000 would be 2.5 units: not a price the API can carry.
        with pytest.raises(ValueError, match="tickSize"):
            InstrumentSpec("x", price_scale=1000, tick_size=Decimal("0.0025"))

    def test_float_tick_from_json_is_taken_exactly(self):
        spec = InstrumentSpec("x", price_scale=1000, tick_size=0.005)  # type: ignore[arg-type]
        assert spec.tick_size == Decimal("0.005")
        assert spec.tick_step == 5

    def test_tick_that_is_not_whole_units_is_refused(self):
        with pytest.raises(ValueError, match="tickSize"):
            InstrumentSpec("x", price_scale=100, tick_size=Decimal("0.005"))

    def test_on_tick_and_limits(self):
        spec = InstrumentSpec(
            "x",
            price_scale=1000,
            tick_size=Decimal("0.005"),
            price_limit_low=10,
            price_limit_high=990,
        )
        assert spec.on_tick(525)
        assert not spec.on_tick(527)
        assert spec.within_limits(10)
        assert spec.within_limits(990)
        assert not spec.within_limits(5)
        assert not spec.within_limits(995)
        assert list(spec.valid_prices())[:3] == [10, 15, 20]
        assert spec.valid_prices()[-1] == 990

    def test_default_limits_are_one_tick_inside_zero_and_one(self):
        spec = InstrumentSpec("x")
        assert (spec.min_price, spec.max_price) == (1, 99)
        assert len(spec.valid_prices()) == 99

    def test_zero_fractional_scale_is_normalised(self):
        assert InstrumentSpec("x", fractional_qty_scale=0).fractional_qty_scale == 1

    def test_from_api_documented_sample(self):
        spec = InstrumentSpec.from_api(
            {
                "symbol": "aec-nfl-ne-den-2026-01-25",
                "priceScale": "100",
                "fractionalQtyScale": "0",
                "tickSize": 0.01,
                "minimumTradeQty": "1",
                "priceLimit": {"low": "1", "high": "99"},
            }
        )
        assert spec == InstrumentSpec(
            "aec-nfl-ne-den-2026-01-25",
            price_scale=100,
            fractional_qty_scale=1,
            tick_size=Decimal("0.01"),
            price_limit_low=1,
            price_limit_high=99,
        )

    def test_from_api_ignores_unset_limits(self):
        spec = InstrumentSpec.from_api(
            {
                "symbol": "x",
                "priceScale": "1000",
                "fractionalQtyScale": "100",
                "tickSize": 0.0025 * 2,
                "priceLimit": {"low": "0", "high": "980", "lowSet": False, "highSet": True},
            }
        )
        assert (spec.price_limit_low, spec.price_limit_high) == (None, 980)
        assert (spec.min_price, spec.max_price) == (5, 980)
        assert spec.fractional_qty_scale == 100

    def test_helpers(self):
        spec = InstrumentSpec("x", price_scale=100, fractional_qty_scale=100)
        assert spec.price(97) == Decimal("0.97")
        assert spec.contracts(312) == Decimal("3.12")
        assert spec.dollars(30264) == Decimal("3.0264")
        assert spec.notional(Decimal("0.01")) == 100
