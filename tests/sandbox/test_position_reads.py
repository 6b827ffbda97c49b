"""Ledger downloads, positions at a point in time, and valuations."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.sandbox.partner import Partner, register_partner
from tests.sandbox.reading import csv_file, market, trade, trader


@pytest.fixture
def partner(module_partner: Partner) -> Partner:
    return module_partner


def _entries(partner: Partner, path: str, pid: str, account: str, **params: Any) -> list[dict]:
    return list(partner.get(path, pid=pid, account=account, **params).json()["entries"])


def test_ledger_downloads_match_the_ledger_reads(partner: Partner) -> None:
    market(partner, "dl-ledger")
    seller, (pid, account) = trader(partner), trader(partner)
    trade(partner, "dl-ledger", seller, (pid, account), 10, 40)
    trade(partner, "dl-ledger", seller, (pid, account), 10, 41)
    entries = _entries(partner, "/v1/funding/balance-ledger", pid, account)
    rows = csv_file(partner.get("/v1/funding/balance-ledger/download", pid=pid, account=account))
    assert [(r["id"], r["entry_type"], r["after_balance"]) for r in rows] == [
        (e["id"], e["entryType"], e["afterBalance"]) for e in entries
    ]
    assert rows[1]["modified_security_id"] == "dl-ledger"
    commissions = csv_file(
        partner.get(
            "/v1/funding/balance-ledger/download",
            pid=pid,
            account=account,
            entryTypes="LEDGER_ENTRY_TYPE_BALANCE_COMMISSION",
            newestFirst="true",
        )
    )
    assert [r["id"] for r in commissions] == [
        e["id"] for e in reversed(entries) if e["entryType"].endswith("COMMISSION")
    ]
    positions = _entries(partner, "/v1/positions/ledger", pid, account)
    rows = csv_file(partner.get("/v1/positions/ledger/download", pid=pid, account=account))
    assert [(r["id"], r["quantity_change"], r["net_position"], r["cost"]) for r in rows] == [
        (e["id"], e["quantityChange"], e["netPosition"], e["cost"]) for e in positions
    ]
    assert [r["net_position"] for r in rows] == ["10", "20"]
    refusals: list[tuple[str, dict[str, Any], int]] = [
        ("/v1/funding/balance-ledger/download", {"entryTypes": "NETTING"}, 409),
        ("/v1/funding/balance-ledger/download", {"pageSize": 1001}, 400),
        ("/v1/positions/ledger/download", {"startTime": "soon"}, 400),
    ]
    for path, params, status in refusals:
        assert partner.get(path, pid=pid, account=account, **params).status_code == status
    other_pid, _ = trader(partner)
    assert (
        partner.get("/v1/positions/ledger/download", pid=other_pid, account=account).status_code
        == 403
    )


def _positions(partner: Partner, pid: str, account: str, **params: Any) -> list[dict]:
    response = partner.get("/v1/positions", pid=pid, name=account, **params)
    assert response.status_code == 200, response.text
    return list(response.json()["positions"])


def test_positions_as_of_time_follow_the_ledger(partner: Partner) -> None:
    market(partner, "asof-a")
    market(partner, "asof-b")
    seller, (pid, account) = trader(partner), trader(partner)
    trade(partner, "asof-a", seller, (pid, account), 10, 40)
    trade(partner, "asof-b", seller, (pid, account), 5, 30)
    trade(partner, "asof-a", seller, (pid, account), 4, 50)
    ledger = _entries(partner, "/v1/positions/ledger", pid, account)
    for entry in ledger:
        moment = entry["updateTime"]
        expected = {}
        for earlier in ledger:  # the last entry of each symbol at or before the moment
            if earlier["updateTime"] <= moment:
                expected[earlier["symbol"]] = (earlier["netPosition"], earlier["cost"])
        found = _positions(partner, pid, account, asOfTime=moment)
        assert {p["symbol"]: (p["netPosition"], p["cost"]) for p in found} == expected
    assert _positions(partner, pid, account, asOfTime="2026-05-01T00:00:00Z") == []
    now = _positions(partner, pid, account)
    latest = _positions(partner, pid, account, asOfTime="2099-01-01T00:00:00Z")
    # The same positions, held since before that trade date began.
    assert [{**p, "bodPosition": p["netPosition"]} for p in now] == latest
    [a_now] = [p for p in now if p["symbol"] == "asof-a"]
    assert (a_now["netPosition"], a_now["qtyBought"], a_now["cost"]) == ("14", "14", str(400 + 200))
    # Everything happened today: the position at the start of the trade date was nothing.
    assert a_now["bodPosition"] == "0"


def test_positions_as_of_end_of_trade_date(partner: Partner) -> None:
    market(partner, "asof-day")
    seller, (pid, account) = trader(partner), trader(partner)
    trade(partner, "asof-day", seller, (pid, account), 10, 40)
    entry = _entries(partner, "/v1/positions/ledger", pid, account)[0]
    today = dt.date.fromisoformat(entry["updateBusinessDate"])

    def on(day: dt.date) -> list[dict]:
        parts = {"asOfDate.year": day.year, "asOfDate.month": day.month, "asOfDate.day": day.day}
        return _positions(partner, pid, account, **parts)

    assert on(today - dt.timedelta(days=1)) == []
    [position] = on(today)
    assert (position["netPosition"], position["bodPosition"]) == ("10", "0")
    [later] = on(today + dt.timedelta(days=1))
    assert later["bodPosition"] == "10"  # held at the start of the next trade date
    refusals: list[tuple[dict[str, Any], str]] = [
        ({"asOfDate.year": 2026, "asOfDate.month": 13, "asOfDate.day": 1}, "asOfDate: not a valid date"),
        ({"asOfDate.year": 2026}, "asOfDate needs year, month and day"),
        ({"asOfTime": "2026-06-01T00:00:00Z", "asOfDate.year": 2026, "asOfDate.month": 6, "asOfDate.day": 1}, "asOfTime and asOfDate are mutually exclusive"),
    ]  # fmt: skip
    for params, message in refusals:
        response = partner.get("/v1/positions", pid=pid, name=account, **params)
        assert (response.status_code, response.json()["message"]) == (400, message)


def _valuation(partner: Partner, pid: str, account: str, **params: Any) -> dict:
    response = partner.get("/v1/valuations/positions", pid=pid, name=account, **params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_valuation_marks(partner: Partner) -> None:
    market(partner, "val-marks")
    a, b, c, d, e = (trader(partner) for _ in range(5))
    trade(partner, "val-marks", a, b, 10, 40)
    trade(partner, "val-marks", c, d, 5, 45)
    last = _valuation(partner, *b)
    [position] = last["positions"]
    assert {k: position[k] for k in ("netPosition", "cost", "markPrice", "marketValue")} == {
        "netPosition": "10",
        "cost": "400",
        "markPrice": "45",
        "marketValue": "450",
    }
    assert (position["unrealizedPnl"], position["priceSource"]) == ("50", "LAST_TRADE")
    assert position["markPriceType"] == "MARK_PRICE_TYPE_LAST"
    summary = last["summary"]
    assert (summary["totalCost"], summary["totalMarketValue"], summary["totalUnrealizedPnl"]) == (
        "4.00",
        "4.50",
        "0.50",
    )
    assert (summary["positionCount"], summary["currency"]) == (1, "USD")
    # (40 x 10 + 45 x 5) / 15 = 41.67 -> 42
    vwap = _valuation(partner, *b, markPriceType="MARK_PRICE_TYPE_VWAP")["positions"][0]
    assert (vwap["markPrice"], vwap["priceSource"]) == ("42", "VWAP")
    # A middle needs a bid and an offer: with one side or none, the last trade marks it.
    for side, price, who in (("SIDE_BUY", "41", e), ("SIDE_SELL", "47", c)):
        mid = _valuation(partner, *b, markPriceType="MARK_PRICE_TYPE_MID")["positions"][0]
        assert (mid["markPrice"], mid["priceSource"]) == ("45", "LAST_TRADE")
        quote = {
            "side": side,
            "orderQty": "1",
            "symbol": "val-marks",
            "price": price,
            "account": who[1],
        }
        assert partner.post("/v1/trading/orders", quote, pid=who[0]).status_code == 200
    mid = _valuation(partner, *b, markPriceType="MARK_PRICE_TYPE_MID")["positions"][0]
    assert (mid["markPrice"], mid["priceSource"]) == ("44", "MID")
    bad = partner.get("/v1/valuations/positions", pid=b[0], name=b[1], markPriceType="CLOSE")
    assert bad.status_code == 400
    # The seller is short: cost -400, marked at 45 it is worth -450, a loss of 50.
    short = _valuation(partner, *a)["positions"][0]
    assert (short["netPosition"], short["marketValue"], short["unrealizedPnl"]) == (
        "-10",
        "-450",
        "-50",
    )


def test_valuation_after_settlement_and_in_the_past(partner: Partner) -> None:
    market(partner, "val-settle")
    seller, buyer = trader(partner), trader(partner)
    trade(partner, "val-settle", seller, buyer, 10, 40)
    assert _valuation(partner, *buyer, asOfTime="2026-05-01T00:00:00Z")["positions"] == []
    assert (
        partner.admin("POST", "/instruments/val-settle/settle", {"settlementPx": 100}).status_code
        == 200
    )
    settled = _valuation(partner, *buyer)
    assert settled["positions"] == []  # closed by the settlement
    assert (settled["summary"]["totalRealizedPnl"], settled["summary"]["positionCount"]) == (
        "6.00",
        0,
    )
    [closed] = _valuation(partner, *buyer, includeZeroPositions="true")["positions"]
    assert (closed["netPosition"], closed["priceSource"], closed["markPrice"]) == (
        "0",
        "SETTLEMENT",
        "100",
    )


def test_statement_for_many_accounts(partner: Partner) -> None:
    market(partner, "val-many")
    a, b, c = trader(partner), trader(partner), trader(partner)
    trade(partner, "val-many", a, b, 10, 40)
    trade(partner, "val-many", a, c, 5, 44)
    response = partner.post(
        "/v1/valuations/accounts/statement/download", {"names": [c[1], b[1], a[1]]}
    )
    rows = csv_file(response)
    assert [r["account"] for r in rows] == [c[1], b[1], a[1]]
    assert [
        (r["total_cost"], r["total_market_value"], r["total_unrealized_pnl"]) for r in rows
    ] == [
        ("2.20", "2.20", "0.00"),
        ("4.00", "4.40", "0.40"),
        ("-6.20", "-6.60", "-0.40"),
    ]
    assert {(r["position_count"], r["price_source"], r["mark_price_type"]) for r in rows} == {
        ("1", "LAST_TRADE", "MARK_PRICE_TYPE_LAST")
    }
    past = csv_file(
        partner.post(
            "/v1/valuations/accounts/statement/download",
            {"names": [b[1]], "asOfDate": {"year": 2026, "month": 5, "day": 1}},
        )
    )
    assert [(r["position_count"], r["total_cost"], r["price_source"]) for r in past] == [
        ("0", "0.00", "")
    ]
    assert past[0]["valuation_time"] == "2026-05-01T21:00:00.000Z"  # 17:00 New York, EDT
    mine = partner.post("/v1/valuations/accounts/statement/download", {"names": [a[1]]}, pid=b[0])
    assert mine.status_code == 403
    other = register_partner(partner.base)
    foreign = other.post("/v1/valuations/accounts/statement/download", {"names": [a[1]]})
    assert foreign.status_code == 403
    missing = partner.post("/v1/valuations/accounts/statement/download", {})
    assert (missing.status_code, missing.json()["message"]) == (400, "names is required")


def test_valuation_positions_download(partner: Partner) -> None:
    market(partner, "val-dl")
    seller, buyer = trader(partner), trader(partner)
    trade(partner, "val-dl", seller, buyer, 10, 40)
    rows = csv_file(partner.get("/v1/valuations/positions/download", pid=buyer[0], name=buyer[1]))
    assert [
        (r["symbol"], r["net_position"], r["mark_price"], r["unrealized_pnl"]) for r in rows
    ] == [("val-dl", "10", "40", "0")]


def test_legacy_account_summaries(partner: Partner) -> None:
    market(partner, "val-legacy")
    seller, buyer = trader(partner), trader(partner)
    trade(partner, "val-legacy", seller, buyer, 10, 40)
    one = partner.get("/v1/valuations/accounts", pid=buyer[0], name=buyer[1]).json()
    assert (one["summary"]["totalCost"], one["priceSource"]) == ("4.00", "LAST_TRADE")
    other = register_partner(partner.base)
    _, stranger = trader(other)
    batch = partner.post(
        "/v1/valuations/accounts:batchGet", {"names": [seller[1], stranger, buyer[1]]}
    ).json()
    assert [s["account"] for s in batch["summaries"]] == [seller[1], buyer[1]]
    assert [s["totalCost"] for s in batch["summaries"]] == ["-4.00", "4.00"]
    assert batch["errors"] == [
        {
            "account": stranger,
            "code": 7,
            "message": "permission denied: names does not belong to the caller",
        }
    ]
    rows = csv_file(partner.get("/v1/valuations/accounts/download", names=[buyer[1], seller[1]]))
    assert [(r["account"], r["total_market_value"]) for r in rows] == [
        (buyer[1], "4.00"),
        (seller[1], "-4.00"),
    ]
