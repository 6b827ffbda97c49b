"""Order lists, crosses, previews and replaces against the matching engine, over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.partner import Partner
from tests.sandbox.test_trading import SYMBOL  # house bids 45, 44, 43; offers 55, 56, 57

ORDERS = "/v1/trading/orders"


@pytest.fixture
def partner(module_partner: Partner) -> Partner:
    return module_partner


def order(account: str, side: str, qty: int, price: int, **extra: Any) -> dict[str, Any]:
    return {
        "type": "ORDER_TYPE_LIMIT",
        "side": side,
        "orderQty": str(qty),
        "symbol": extra.pop("symbol", SYMBOL),
        "price": str(price),
        "timeInForce": "TIME_IN_FORCE_GOOD_TILL_CANCEL",
        "account": account,
        **extra,
    }


def open_ids(partner: Partner, pid: str) -> list[str]:
    return [o["id"] for o in partner.get(f"{ORDERS}/open", pid=pid).json()["orders"]]


def executions(partner: Partner, pid: str, order_id: str) -> list[dict[str, Any]]:
    body = {"orderId": order_id}
    return partner.post("/v1/report/executions/search", body, pid=pid).json()["executions"]


def exec_types(partner: Partner, pid: str, order_id: str) -> list[str]:
    return [e.get("type", "EXECUTION_TYPE_NEW")[15:] for e in executions(partner, pid, order_id)]


def balance(partner: Partner, pid: str, account: str) -> str:
    return str(partner.post("/v1/positions/balance", {"name": account}, pid=pid).json()["balance"])


def test_insert_list_is_all_or_nothing(partner: Partner, participant: tuple[str, str]) -> None:
    pid, account = participant
    first = order(account, "SIDE_BUY", 100, 40, clordId="l-1")
    malformed = partner.post(
        f"{ORDERS}/list", {"requests": [first, {**first, "price": "4x"}]}, pid=pid
    )
    assert malformed.status_code == 400
    assert malformed.json()["message"] == "requests[1]: price: not an integer"
    duplicate = partner.post(
        f"{ORDERS}/list",
        {"requests": [first, order(account, "SIDE_BUY", 100, 41, clordId="l-1")]},
        pid=pid,
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["message"] == "requests[1]: duplicate clordId among live orders"
    assert open_ids(partner, pid) == []  # the first order of each refused list was not kept
    too_many = partner.post(f"{ORDERS}/list", {"requests": [first] * 21}, pid=pid)
    assert too_many.json()["message"] == "requests: at most 20 per call"
    placed = partner.post(
        f"{ORDERS}/list",
        {"requests": [first, order(account, "SIDE_BUY", 100, 41, clordId="l-2")]},
        pid=pid,
    )
    assert placed.status_code == 200, placed.text
    ids = [r["orderId"] for r in placed.json()["responses"]]
    assert open_ids(partner, pid) == ids


def test_preview_has_no_effect(partner: Partner, participant: tuple[str, str]) -> None:
    pid, account = participant
    bbo = partner.get(f"/v1/orderbook/{SYMBOL}/bbo").json()
    response = partner.post(
        f"{ORDERS}/preview", {"request": order(account, "SIDE_BUY", 1000, 60)}, pid=pid
    )
    assert response.status_code == 200, response.text
    preview = response.json()["previewOrder"]
    assert "id" not in preview
    assert preview["state"] == "ORDER_STATE_FILLED"
    assert (preview["cumQty"], preview["leavesQty"], preview["avgPx"]) == ("1000", "0", "55")
    assert preview["priceToQuantityFilled"] == {"55": "1000"}
    # 10 contracts @ $0.55: 0.0695 x 10 x 0.55 x 0.45 = $0.172 -> $0.17 = 1700 notional units
    assert preview["commissionNotionalTotalCollected"] == "1700"
    assert balance(partner, pid, account) == "1000.00"
    assert partner.get(f"/v1/orderbook/{SYMBOL}/bbo").json()["bestOffer"] == bbo["bestOffer"]
    assert partner.post("/v1/report/orders/search", {}, pid=pid).json()["order"] == []
    unfunded = partner.post(
        f"{ORDERS}/preview", {"request": order(account, "SIDE_BUY", 1_000_000, 60)}, pid=pid
    ).json()["previewOrder"]
    assert unfunded["state"] == "ORDER_STATE_REJECTED"
    missing = partner.post(f"{ORDERS}/preview", {}, pid=pid)
    assert (missing.status_code, missing.json()["message"]) == (400, "request is required")


def test_replace_reprices_renames_and_matches(partner: Partner, participant: tuple[str, str]):
    pid, account = participant
    placed = partner.post(ORDERS, order(account, "SIDE_BUY", 500, 40, clordId="r-1"), pid=pid)
    order_id = placed.json()["orderId"]
    renamed = partner.post(
        f"{ORDERS}/replace", {"orderId": order_id, "price": "42", "clordId": "r-2"}, pid=pid
    )
    assert (renamed.status_code, renamed.json()) == (200, {})
    [resting] = partner.get(f"{ORDERS}/open", pid=pid).json()["orders"]
    assert (resting["id"], resting["price"], resting["clordId"]) == (order_id, "42", "r-2")
    by_clord = partner.post(f"{ORDERS}/replace", {"clordId": "r-2", "orderQty": "400"}, pid=pid)
    assert by_clord.status_code == 200, by_clord.text
    assert partner.get(f"{ORDERS}/open", pid=pid).json()["orders"][0]["leavesQty"] == "400"
    crossing = partner.post(f"{ORDERS}/replace", {"orderId": order_id, "price": "60"}, pid=pid)
    assert crossing.status_code == 200, crossing.text
    assert exec_types(partner, pid, order_id) == ["NEW", "REPLACE", "REPLACE", "REPLACE", "FILL"]
    fill = executions(partner, pid, order_id)[-1]
    assert (fill["lastPx"], fill["lastShares"], fill["aggressor"]) == ("55", "400", True)
    assert fill["order"]["clordId"] == "r-2"
    assert open_ids(partner, pid) == []
    done = partner.post(f"{ORDERS}/replace", {"orderId": order_id, "price": "41"}, pid=pid)
    assert (done.status_code, done.json()["code"]) == (409, 10)


def test_replace_refusals_change_nothing(partner: Partner, participant: tuple[str, str]) -> None:
    pid, account = participant
    order_id = partner.post(ORDERS, order(account, "SIDE_BUY", 500, 40), pid=pid).json()["orderId"]
    refusals = [
        ({"price": "40.5"}, 3, "price: not an integer"),
        ({"price": "100"}, 3, "price: price out of bounds"),
        ({"orderQty": "-5"}, 3, "orderQty must be positive"),
        ({"orderQty": "5000000"}, 9, "insufficient buying power for the replacement"),
        ({"orderId": "NOSUCHORDER1"}, 5, "order not found"),
        ({"timeInForce": "TIME_IN_FORCE_FILL_OR_KILL"}, 3, None),
        ({"symbol": "other"}, 3, "symbol does not match the order"),
    ]
    for change, code, message in refusals:
        response = partner.post(f"{ORDERS}/replace", {"orderId": order_id, **change}, pid=pid)
        assert response.json()["code"] == code, (change, response.text)
        if message:
            assert response.json()["message"] == message
    [resting] = partner.get(f"{ORDERS}/open", pid=pid).json()["orders"]
    assert (resting["price"], resting["orderQty"]) == ("40", "500")
    assert exec_types(partner, pid, order_id) == ["NEW"]


def _book_without_house(partner: Partner, symbol: str) -> None:
    body = {"symbol": symbol, "priceScale": 100, "fractionalQtyScale": 1, "houseLiquidity": False}
    assert partner.admin("POST", "/instruments", body).status_code == 200


def _trader(partner: Partner) -> tuple[str, str]:
    pid, account = partner.onboard()
    partner.deposit(account, "100.00")
    return pid, account


def test_replace_keeps_or_loses_time_priority(partner: Partner) -> None:
    symbol = "prio-test"
    _book_without_house(partner, symbol)
    (a_pid, a), (b_pid, b), (c_pid, c) = (_trader(partner) for _ in range(3))
    a_id = partner.post(ORDERS, order(a, "SIDE_BUY", 100, 40, symbol=symbol), pid=a_pid).json()
    partner.post(ORDERS, order(b, "SIDE_BUY", 100, 40, symbol=symbol), pid=b_pid)

    def sell_ten() -> str:
        ioc = order(
            c, "SIDE_SELL", 10, 40, symbol=symbol, timeInForce="TIME_IN_FORCE_IMMEDIATE_OR_CANCEL"
        )
        sold = partner.post(ORDERS, ioc, pid=c_pid).json()["orderId"]
        trade = partner.post("/v1/report/trades/search", {"orderId": sold}, pid=c_pid).json()
        return str(trade["trade"][0]["passive"]["order"]["account"])

    smaller = {"orderId": a_id["orderId"], "orderQty": "80"}
    assert partner.post(f"{ORDERS}/replace", smaller, pid=a_pid).status_code == 200
    assert sell_ten() == a  # a smaller order keeps its place
    larger = {"orderId": a_id["orderId"], "orderQty": "120"}
    assert partner.post(f"{ORDERS}/replace", larger, pid=a_pid).status_code == 200
    assert sell_ten() == b  # a larger one goes to the back of the queue


def test_cancel_list_is_all_or_nothing(partner: Partner, participant: tuple[str, str]) -> None:
    pid, account = participant
    placed = partner.post(
        f"{ORDERS}/list",
        {
            "requests": [
                order(account, "SIDE_BUY", 100, 40, clordId="c-1"),
                order(account, "SIDE_BUY", 100, 41, clordId="c-2"),
            ]
        },
        pid=pid,
    )
    first, second = (r["orderId"] for r in placed.json()["responses"])
    unknown = partner.post(
        f"{ORDERS}/cancel/list",
        {"requests": [{"orderId": first}, {"orderId": "NOSUCHORDER1"}]},
        pid=pid,
    )
    assert (unknown.status_code, unknown.json()["message"]) == (
        404,
        "requests[1]: order not found",
    )
    assert open_ids(partner, pid) == [first, second]
    cancelled = partner.post(
        f"{ORDERS}/cancel/list", {"requests": [{"orderId": first}, {"clordId": "c-2"}]}, pid=pid
    )
    assert cancelled.json() == {"responses": [{}, {}]}
    assert open_ids(partner, pid) == []
    assert exec_types(partner, pid, second) == ["NEW", "CANCELED"]


def test_replace_list(partner: Partner, participant: tuple[str, str]) -> None:
    pid, account = participant
    ids = [
        partner.post(ORDERS, order(account, "SIDE_BUY", 100, 40 + n), pid=pid).json()["orderId"]
        for n in range(2)
    ]
    body = {"requests": [{"orderId": ids[0], "price": "38"}, {"orderId": ids[1], "price": "39"}]}
    assert partner.post(f"{ORDERS}/replace/list", body, pid=pid).json() == {"responses": [{}, {}]}
    prices = [o["price"] for o in partner.get(f"{ORDERS}/open", pid=pid).json()["orders"]]
    assert prices == ["38", "39"]


def test_cross_all_or_none(partner: Partner, participant: tuple[str, str]) -> None:
    pid, account = participant
    legs = [order(account, "SIDE_BUY", 1000, 50), order(account, "SIDE_SELL", 1000, 50)]
    crossed = partner.post(
        f"{ORDERS}/cross",
        {"requests": legs, "crossType": "CROSS_TYPE_ALL_OR_NONE", "crossId": "x-1"},
        pid=pid,
    )
    assert crossed.status_code == 200, crossed.text
    buy_id, sell_id = (r["orderId"] for r in crossed.json()["responses"])
    [trade] = partner.post("/v1/report/trades/search", {"orderId": buy_id}, pid=pid).json()["trade"]
    assert trade["tradeType"] == "TRADE_TYPE_CROSS"
    # The buy side is prioritized by default: entered first, it is the maker.
    assert (trade["passive"]["order"]["id"], trade["aggressor"]["order"]["id"]) == (buy_id, sell_id)
    assert trade["passive"]["order"]["crossId"] == "x-1"
    assert exec_types(partner, pid, buy_id) == ["NEW", "FILL"]
    [position] = partner.get("/v1/positions", pid=pid, name=account).json()["positions"]
    assert (position["netPosition"], position["qtyBought"], position["qtySold"]) == (
        "0",
        "1000",
        "1000",
    )
    through = [order(account, "SIDE_BUY", 1000, 60), order(account, "SIDE_SELL", 1000, 60)]
    refused = partner.post(f"{ORDERS}/cross", {"requests": through}, pid=pid).json()
    for response in refused["responses"]:
        [rejected] = executions(partner, pid, response["orderId"])
        assert rejected["type"] == "EXECUTION_TYPE_REJECTED"
        assert rejected["orderRejectReason"] == "ORD_REJECT_REASON_PRICE_OUT_OF_BOUNDS"
    same_side = partner.post(f"{ORDERS}/cross", {"requests": [legs[0], legs[0]]}, pid=pid)
    assert same_side.json()["message"] == "requests: a cross is one BUY and one SELL"
    uneven = partner.post(
        f"{ORDERS}/cross", {"requests": [legs[0], {**legs[1], "orderQty": "999"}]}, pid=pid
    )
    assert uneven.json()["message"] == "requests[1].orderQty must equal requests[0].orderQty"
