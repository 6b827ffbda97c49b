"""The committed Python of the gRPC contract is exactly what the .proto files generate."""

from __future__ import annotations

from pathlib import Path

from polymarket.generate import ROOT, generate
from polymarket.v1 import order_pb2, report_pb2


def _generated(root: Path) -> dict[str, bytes]:
    folder = root / "polymarket" / "v1"
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*_pb2*")) if p.is_file()}


def test_committed_code_is_current(tmp_path: Path) -> None:
    generate(tmp_path)
    fresh = _generated(tmp_path)
    committed = _generated(ROOT)
    assert sorted(committed) == sorted(fresh), "run: .venv/bin/python -m polymarket.generate"
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert stale == [], "run: .venv/bin/python -m polymarket.generate"


def test_published_numbers_are_kept() -> None:
    fields = order_pb2.Order.DESCRIPTOR.fields_by_name
    assert fields["price_to_quantity_filled"].number == 41
    assert fields["fractional_quantity_scale"].number == 49
    assert order_pb2.ORDER_STATE_PENDING_RISK == 10
    assert report_pb2.TRADE_STATE_BUSTED == 3
    assert report_pb2.EXECUTION_TYPE_DONE_FOR_DAY == 7
