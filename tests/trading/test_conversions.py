"""Fixed-point conversions against the reference's worked examples (API.md 4.5 and 5.5.6), from
the stream's messages to the Decimals the mirror stores."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backoffice.gateway.scales import Scales
from backoffice.gateway.streams import execution_from_proto, position_from_proto
from polymarket.v1 import dropcopy_pb2, order_pb2, report_pb2
from tests.trading.messages import no_lookup, order
from trading import mirror
from trading.models import Execution, Order


def test_the_reference_examples_at_scales_100_100():
    o = order("A1", price=45, order_qty=10000, cash_order_qty=2000)
    e = report_pb2.Execution(id="E1", commission_notional_collected=100)
    e.order.CopyFrom(o)
    converted = execution_from_proto(e, no_lookup)
    assert converted.order is not None
    assert converted.order.price == Decimal("0.45")  # $0.45 -> price=45
    assert converted.order.order_qty == Decimal("100")  # 100 contracts -> orderQty=10000
    assert converted.order.cash_order_qty == Decimal("20")  # $20 -> cashOrderQty=2000
    assert converted.commission == Decimal("0.01")  # commission 100 -> $0.01


@pytest.mark.parametrize(
    ("qty_scale", "last_shares", "commission", "contracts", "dollars"),
    [
        (100, 312, 100, Decimal("3.12"), Decimal("0.01")),  # 312 units @97 -> fee $0.01
        (1, 100, 20, Decimal("100"), Decimal("0.20")),  # 100 @97, taker $0.20
        (1, 100, -4, Decimal("100"), Decimal("-0.04")),  # maker rebate -$0.04
    ],
)
def test_fee_examples(qty_scale, last_shares, commission, contracts, dollars):
    e = report_pb2.Execution(
        id="E2",
        type=report_pb2.EXECUTION_TYPE_FILL,
        last_shares=last_shares,
        last_px=97,
        commission_notional_collected=commission,
    )
    e.order.CopyFrom(order("A2", fractional_quantity_scale=qty_scale))
    converted = execution_from_proto(e, no_lookup)
    assert converted.last_shares == contracts
    assert converted.last_px == Decimal("0.97")
    assert converted.commission == dollars


def test_half_cent_ticks_at_price_scale_1000():
    e = report_pb2.Execution(id="E3", last_px=455, type=report_pb2.EXECUTION_TYPE_FILL)
    e.order.CopyFrom(order("A3", price=455, price_scale=1000, fractional_quantity_scale=0))
    converted = execution_from_proto(e, no_lookup)
    assert converted.last_px == Decimal("0.455")
    assert converted.order is not None
    assert converted.order.order_qty == Decimal("10000")  # scale 0 is read as 1


def test_an_order_without_scales_uses_its_instruments():
    e = report_pb2.Execution(id="E4")
    e.order.CopyFrom(order("A4", price_scale=0, fractional_quantity_scale=0, price=5))
    looked_up = []

    def lookup(symbol: str) -> Scales:
        looked_up.append(symbol)
        return Scales(1000, 10)

    converted = execution_from_proto(e, lookup)
    assert converted.order is not None
    assert converted.order.price == Decimal("0.005")
    assert converted.order.order_qty == Decimal("1000")
    assert looked_up == ["aec-nfl-ne-den-2026-01-25"]


def test_positions_take_the_instruments_scales():
    change = dropcopy_pb2.PositionChange()
    change.position.symbol = "s"
    change.position.net_position = -250
    change.position.cost = 11250
    change.position.realized = -5
    converted = position_from_proto(change, lambda symbol: Scales(100, 100))
    assert converted.position.net_position == Decimal("-2.5")
    assert converted.position.cost == Decimal("1.125")
    assert converted.position.realized == Decimal("-0.0005")


@pytest.mark.django_db
def test_the_mirror_stores_them_exactly():
    filled = order("A5", cum_qty=312, leaves_qty=0, order_qty=312, avg_px=97)
    filled.state = order_pb2.ORDER_STATE_FILLED
    e = report_pb2.Execution(
        id="E5",
        type=report_pb2.EXECUTION_TYPE_FILL,
        last_shares=312,
        last_px=97,
        commission_notional_collected=100,
    )
    e.order.CopyFrom(filled)
    e.transact_time.seconds = 1_800_000_000
    mirror.apply_executions([execution_from_proto(e, no_lookup)])
    stored = Execution.objects.get(exchange_id="E5")
    assert (stored.last_shares, stored.last_px, stored.commission) == (
        Decimal("3.12"),
        Decimal("0.97"),
        Decimal("0.01"),
    )
    placed = Order.objects.get(exchange_id="A5")
    assert (placed.price, placed.order_qty, placed.avg_px, placed.state) == (
        Decimal("0.45"),
        Decimal("3.12"),
        Decimal("0.97"),
        "FILLED",
    )
