"""Report downloads, trade stats and the single order and execution reads."""

from __future__ import annotations

import pytest

from sandbox import downloads
from tests.sandbox.partner import Partner, register_partner
from tests.sandbox.reading import csv_file, market, stream_messages, trade, trader


@pytest.fixture
def partner(module_partner: Partner) -> Partner:
    return module_partner


def test_execution_csv_of_a_participant(partner: Partner) -> None:
    market(partner, "csv-exec")
    seller, buyer = trader(partner), trader(partner)
    bought = trade(partner, "csv-exec", seller, buyer, 10, 40)
    rows = csv_file(partner.post("/v1/report/executions/csv", {}, pid=buyer[0]))
    assert [(r["order_id"], r["type"], r["last_shares"], r["last_px"]) for r in rows] == [
        (bought, "EXECUTION_TYPE_NEW", "0", "0"),
        (bought, "EXECUTION_TYPE_FILL", "10", "40"),
    ]
    fill = rows[1]
    assert (fill["account"], fill["side"], fill["aggressor"]) == (buyer[1], "SIDE_BUY", "true")
    assert (fill["order_state"], fill["cum_qty"], fill["leaves_qty"]) == (
        "ORDER_STATE_FILLED",
        "10",
        "0",
    )
    # 10 contracts @ $0.40: 0.0695 x 10 x 0.4 x 0.6 = $0.17 -> 17 notional units (scale 100 x 1)
    assert fill["commission_notional_collected"] == "17"


def test_firm_wide_downloads_cover_many_accounts(partner: Partner) -> None:
    market(partner, "csv-firm")
    a, b, c = trader(partner), trader(partner), trader(partner)
    trade(partner, "csv-firm", a, b, 10, 40)
    trade(partner, "csv-firm", c, b, 5, 41)
    trades = csv_file(partner.post("/v1/report/trades/csv", {"accounts": [a[1], c[1]]}))
    assert [(t["aggressor_account"], t["passive_account"], t["qty"]) for t in trades] == [
        (b[1], a[1], "10"),
        (b[1], c[1], "5"),
    ]
    assert {t["aggressor_side"] for t in trades} == {"SIDE_BUY"}
    everyone = csv_file(partner.post("/v1/report/orders/csv", {}))
    assert {a[1], b[1], c[1]} <= {o["account"] for o in everyone}
    only_c = csv_file(partner.post("/v1/report/orders/csv", {}, pid=c[0]))
    assert {o["account"] for o in only_c} == {c[1]}
    assert only_c[0]["state"] == "ORDER_STATE_FILLED"
    other = register_partner(partner.base)
    foreign = other.post("/v1/report/orders/csv", {"accounts": [a[1]]})
    assert (foreign.status_code, foreign.json()["code"]) == (403, 7)
    not_hers = partner.post("/v1/report/orders/csv", {"accounts": [a[1]]}, pid=c[0])
    assert not_hers.status_code == 403


def test_download_is_chunked_and_empty_is_empty(partner: Partner, monkeypatch) -> None:
    market(partner, "csv-chunks")
    seller, buyer = trader(partner), trader(partner)
    for price in (40, 41, 42):
        trade(partner, "csv-chunks", seller, buyer, 1, price)
    monkeypatch.setattr(downloads, "CHUNK_CHARS", 300)
    monkeypatch.setattr(downloads, "PAGE_ROWS", 2)
    response = partner.post("/v1/report/executions/csv", {}, pid=buyer[0])
    assert response.headers["Transfer-Encoding"] == "chunked"
    assert len(stream_messages(response)) > 1
    assert len(csv_file(response)) == 6  # NEW and FILL of three orders, across pages and chunks
    later = {"startTime": "2099-01-01T00:00:00Z"}
    empty = partner.post("/v1/report/executions/csv", later, pid=buyer[0])
    assert (empty.status_code, empty.text) == (200, "")
    bad = partner.post("/v1/report/trades/csv", {"startTime": "yesterday"}, pid=buyer[0])
    assert (bad.status_code, bad.json()["message"]) == (400, "startTime: not an RFC 3339 timestamp")


def test_trade_stats_from_the_trades(partner: Partner) -> None:
    market(partner, "stats-test")
    a, b = trader(partner), trader(partner)
    trade(partner, "stats-test", a, b, 10, 40)
    trade(partner, "stats-test", a, b, 20, 45)
    trade(partner, "stats-test", a, b, 5, 42)
    trades = partner.post("/v1/report/trades/search", {"symbol": "stats-test"}, pid=b[0])
    busted = trades.json()["trade"][1]["id"]
    assert partner.admin("POST", f"/trades/{busted}/bust").status_code == 200
    window = {"startTime": "2026-05-01T00:00:00Z", "endTime": "2099-01-01T00:00:00Z"}
    stats = partner.post("/v1/report/trades/stats", {"symbol": "stats-test", **window}).json()
    assert stats["stats"] == {
        "first": "40",
        "last": "42",
        "high": "45",
        "low": "40",
        "totalTradeCount": "3",
        "clearedTradeCount": "2",
        "volume": "35",
        "clearedVolume": "15",
        "notional": str(400 + 900 + 210),
        "clearedNotional": str(400 + 210),
    }
    barred = partner.post(
        "/v1/report/trades/stats", {"symbol": "stats-test", "bars": 4, **window}
    ).json()
    assert len(barred["bars"]) == len(barred["barStartTime"]) == len(barred["barEndTime"]) == 4
    assert barred["barStartTime"][0] == "2026-05-01T00:00:00.000Z"
    assert barred["barEndTime"][-1] == "2099-01-01T00:00:00.000Z"
    assert sum(int(bar["totalTradeCount"]) for bar in barred["bars"]) == 3
    refusals = [
        ({}, 400, "symbol is required"),
        ({"symbol": "no-such-symbol"}, 404, "instrument no-such-symbol not found"),
        ({"symbol": "stats-test", "bars": 2}, 400, "bars need a window with both ends (times or trade dates)"),
        ({"symbol": "stats-test", "bars": 1001, **window}, 400, "bars must be between 0 and 1000"),
        (
            {"symbol": "stats-test", "startTime": window["startTime"], "endTradeDate": {"year": 2099, "month": 1, "day": 1}},
            400,
            "give startTime/endTime or startTradeDate/endTradeDate, not both",
        ),
    ]  # fmt: skip
    for body, status, message in refusals:
        response = partner.post("/v1/report/trades/stats", body)
        assert (response.status_code, response.json()["message"]) == (status, message), body


def test_trade_stats_by_trade_date(partner: Partner) -> None:
    market(partner, "stats-days")
    a, b = trader(partner), trader(partner)
    trade(partner, "stats-days", a, b, 10, 40)
    [fill] = partner.post(
        "/v1/report/executions/search", {"symbol": "stats-days", "types": ["EXECUTION_TYPE_FILL"]}, pid=b[0]
    ).json()["executions"]  # fmt: skip
    today = fill["transactTradeDate"]
    same_day = {"symbol": "stats-days", "startTradeDate": today, "endTradeDate": today}
    stats = partner.post("/v1/report/trades/stats", same_day).json()
    assert stats["stats"]["totalTradeCount"] == "1"
    before = {**today, "year": today["year"] - 1}
    earlier = {"symbol": "stats-days", "startTradeDate": before, "endTradeDate": before}
    assert (
        partner.post("/v1/report/trades/stats", earlier).json()["stats"]["totalTradeCount"] == "0"
    )


def test_get_order_and_execution(partner: Partner) -> None:
    market(partner, "get-one")
    seller, buyer = trader(partner), trader(partner)
    bought = trade(partner, "get-one", seller, buyer, 10, 40)
    got = partner.get(f"/v1/report/orders/{bought}", pid=buyer[0])
    assert got.status_code == 200, got.text
    found = got.json()["order"]
    assert (found["id"], found["state"], found["cumQty"]) == (bought, "ORDER_STATE_FILLED", "10")
    executions = partner.post("/v1/report/executions/search", {"orderId": bought}, pid=buyer[0])
    fill_id = executions.json()["executions"][-1]["id"]
    execution = partner.get(f"/v1/report/executions/{fill_id}", pid=buyer[0]).json()["execution"]
    assert (execution["id"], execution["lastShares"], execution["lastPx"]) == (fill_id, "10", "40")
    assert execution["order"]["id"] == bought
    not_hers = partner.get(f"/v1/report/orders/{bought}", pid=seller[0])
    assert (not_hers.status_code, not_hers.json()["message"]) == (404, "order not found")
    unknown = partner.get("/v1/report/executions/NOSUCHEXEC01", pid=buyer[0])
    assert (unknown.status_code, unknown.json()["message"]) == (404, "execution not found")
    assert partner.get(f"/v1/report/orders/{bought}").status_code == 403  # x-participant-id
