"""Orders, fees, positions, reports and settlement, end to end (Appendix C), over HTTP."""

from __future__ import annotations

import uuid
from decimal import Decimal

from tests.sandbox.partner import CASH, VENDOR, Partner

SYMBOL = "aec-nfl-ne-den-2026-01-25"  # priceScale 100, fractionalQtyScale 100, house 43..57


def vendor_order(
    account: str, side: str, qty: int, price: int, key: str | None = None, **extra
) -> dict:
    return {
        "order": {
            "type": "ORDER_TYPE_LIMIT",
            "side": side,
            "orderQty": str(qty),
            "symbol": extra.pop("symbol", SYMBOL),
            "price": str(price),
            "timeInForce": "TIME_IN_FORCE_FILL_OR_KILL",
            "clordId": "c-" + uuid.uuid4().hex[:10],
            "account": account,
            "manualOrderIndicator": "MANUAL_ORDER_INDICATOR_MANUAL",
            **extra,
        },
        "vendorFee": {"value": "0.10", "currency": "USD"},
        "idempotencyKey": key or str(uuid.uuid4()),
    }


def test_appendix_c_happy_path(partner: Partner, webhook_receiver) -> None:
    # 1-3: token, whoami, webhook registration
    assert partner.get("/v1/whoami").status_code == 200
    assert partner.post("/v1/kyc/webhook", {"webhook_url": webhook_receiver.url}).status_code == 200
    # 4: KYC -> provisioned
    pid, account = partner.onboard("happy-path")
    # 5: pool balance, deposit
    assert partner.post(f"{CASH}/GetFundingAccountBalance", {"currency": "USD"}).status_code == 200
    assert partner.deposit(account, "500.00")["status"] == "CASH_MOVEMENT_STATUS_CONFIRMED"
    # 6: refdata
    instruments = partner.post("/v1/refdata/instruments", {"symbols": [SYMBOL]}).json()
    [instrument] = instruments["instruments"]
    assert instrument["priceScale"] == "100"
    assert instrument["fractionalQtyScale"] == "100"
    # 7: buying power
    balance = partner.post("/v1/positions/balance", {"name": account, "currency": "USD"}, pid=pid)
    assert balance.json()["buyingPower"] == "500.00"
    # 8: vendor order, FOK LIMIT, fills against the house offer at 55
    body = vendor_order(account, "SIDE_BUY", 10000, 60, key="vo-1")
    response = partner.post(VENDOR, body)
    assert response.status_code == 200, response.text
    accepted = response.json()
    assert accepted["status"] == "VENDOR_ORDER_STATUS_ACCEPTED"
    order_id = accepted["id"]
    replay = partner.post(VENDOR, body).json()
    assert (replay["id"], replay["fundingRequestId"]) == (order_id, accepted["fundingRequestId"])
    changed = partner.post(VENDOR, {**body, "vendorFee": {"value": "0.20", "currency": "USD"}})
    assert changed.status_code == 409
    execs = partner.post("/v1/report/executions/search", {"orderId": order_id}, pid=pid).json()
    types = [e.get("type", "EXECUTION_TYPE_NEW") for e in execs["executions"]]
    assert types == ["EXECUTION_TYPE_NEW", "EXECUTION_TYPE_FILL"]
    fill = execs["executions"][1]
    assert fill["lastPx"] == "55"
    # 100 contracts @ $0.55: fee 0.0695 x 100 x 0.55 x 0.45 = 1.7201... -> $1.72 = 17200 units
    assert fill["commissionNotionalCollected"] == "17200"
    ledger = partner.get("/v1/funding/balance-ledger", pid=pid, account=account).json()["entries"]
    assert [(e["entryType"][26:], e["afterBalance"]) for e in ledger] == [
        ("DEPOSIT", "500.00"),
        ("ORDER_EXECUTION", "445.00"),
        ("COMMISSION", "443.28"),
    ]
    positions = partner.get("/v1/positions", pid=pid, name=account).json()["positions"]
    assert positions[0]["netPosition"] == "10000"
    assert positions[0]["cost"] == "550000"
    # FOK that cannot fill: NEW then EXPIRED, still ACCEPTED
    killed = partner.post(VENDOR, vendor_order(account, "SIDE_BUY", 10000, 40)).json()
    assert killed["status"] == "VENDOR_ORDER_STATUS_ACCEPTED"
    kexecs = partner.post("/v1/report/executions/search", {"orderId": killed["id"]}, pid=pid).json()
    assert [e.get("type") for e in kexecs["executions"]] == [None, "EXECUTION_TYPE_EXPIRED"]
    # 9: a resting generic order, cancelled
    resting = partner.post(
        "/v1/trading/orders",
        {
            "type": "ORDER_TYPE_LIMIT",
            "side": "SIDE_BUY",
            "orderQty": "500",
            "symbol": SYMBOL,
            "price": "40",
            "timeInForce": "TIME_IN_FORCE_GOOD_TILL_CANCEL",
            "clordId": "rest-1",
            "account": account,
        },
        pid=pid,
    )
    assert resting.status_code == 200, resting.text
    rest_id = resting.json()["orderId"]
    open_orders = partner.get("/v1/trading/orders/open", pid=pid).json()["orders"]
    assert [o["id"] for o in open_orders] == [rest_id]
    dup = partner.post(
        "/v1/trading/orders",
        {"side": "SIDE_BUY", "orderQty": "1", "symbol": SYMBOL, "price": "40", "clordId": "rest-1"},
        pid=pid,
    )
    assert dup.status_code == 409
    assert partner.post("/v1/trading/orders/cancel", {"orderId": rest_id}, pid=pid).json() == {}
    again = partner.post("/v1/trading/orders/cancel", {"orderId": rest_id}, pid=pid)
    assert again.status_code == 409
    # 10: reports
    orders = partner.post("/v1/report/orders/search", {}, pid=pid).json()["order"]
    assert {o["id"] for o in orders} >= {order_id, rest_id}
    trades = partner.post("/v1/report/trades/search", {}, pid=pid).json()["trade"]
    assert trades[0]["state"] == "TRADE_STATE_CLEARED"
    # 11: vendor fee collection and a withdrawal within free cash
    vf = partner.post(
        f"{CASH}/CreateCashMovement",
        {
            "idempotencyKey": "vf-1",
            "transfer": {
                "reason": "VENDOR_FEES",
                "participantAccountId": account,
                "amount": "0.20",
                "currency": "USD",
                "externalReference": "journal-1",
            },
        },
    ).json()["cashMovement"]
    assert vf["status"] == "CASH_MOVEMENT_STATUS_CONFIRMED"
    # 12: settle YES: 100 contracts pay $100
    settled = partner.admin("POST", f"/instruments/{SYMBOL}/settle", {"settlementPx": 100})
    assert settled.status_code == 200, settled.text
    after = partner.get("/v1/positions", pid=pid, name=account).json()["positions"][0]
    assert after["netPosition"] == "0"
    assert after["expired"] is True
    assert after["realized"] == str(100 * 10000 - 550000)
    last = partner.get("/v1/funding/balance-ledger", pid=pid, account=account).json()["entries"][-1]
    assert last["entryType"] == "LEDGER_ENTRY_TYPE_BALANCE_RESOLUTION"
    assert Decimal(last["afterBalance"]) - Decimal(last["beforeBalance"]) == Decimal("100")
    stats = partner.get(f"/v1/instruments/{SYMBOL}/settlement").json()
    assert stats["stats"]["settlementPx"] == "100"


def _crossing_market(partner: Partner, symbol: str, scale: int, frac: int) -> None:
    response = partner.admin(
        "POST",
        "/instruments",
        {
            "symbol": symbol,
            "priceScale": scale,
            "fractionalQtyScale": frac,
            "tickSize": "0.01",
            "houseLiquidity": False,
        },
    )
    assert response.status_code == 200, response.text


def _fill(partner: Partner, symbol: str, qty: int, price: int) -> tuple[dict, dict]:
    seller_pid, seller = partner.onboard()
    partner.deposit(seller, "100.00")
    buyer_pid, buyer = partner.onboard()
    partner.deposit(buyer, "100.00")
    ask = {
        "side": "SIDE_SELL",
        "orderQty": str(qty),
        "symbol": symbol,
        "price": str(price),
        "timeInForce": "TIME_IN_FORCE_GOOD_TILL_CANCEL",
        "account": seller,
    }
    assert partner.post("/v1/trading/orders", ask, pid=seller_pid).status_code == 200
    taken = partner.post(VENDOR, vendor_order(buyer, "SIDE_BUY", qty, price, symbol=symbol)).json()
    buyer_fill = partner.post(
        "/v1/report/executions/search", {"orderId": taken["id"]}, pid=buyer_pid
    ).json()["executions"][-1]
    seller_fill = partner.post(
        "/v1/report/executions/search", {"types": ["EXECUTION_TYPE_FILL"]}, pid=seller_pid
    ).json()["executions"][-1]
    ledger = partner.get("/v1/funding/balance-ledger", pid=buyer_pid, account=buyer).json()
    return buyer_fill, {"seller": seller_fill, "ledger": ledger["entries"]}


def test_worked_example_fractional(partner: Partner) -> None:
    """312 units @ 97 on 100/100: fee $0.01 -> "100"; ledger debit 3.0364 in total."""
    _crossing_market(partner, "wx-frac", 100, 100)
    buyer_fill, rest = _fill(partner, "wx-frac", 312, 97)
    assert buyer_fill["commissionNotionalCollected"] == "100"
    execution, commission = rest["ledger"][1:]
    debit = Decimal(execution["beforeBalance"]) - Decimal(commission["afterBalance"])
    assert debit == Decimal("3.0364")


def test_worked_example_whole_contracts(partner: Partner) -> None:
    """100 @ 97, whole contracts: taker $0.20 ("20"), maker -$0.04 ("-4")."""
    _crossing_market(partner, "wx-whole", 100, 1)
    buyer_fill, rest = _fill(partner, "wx-whole", 100, 97)
    assert buyer_fill["commissionNotionalCollected"] == "20"
    assert rest["seller"]["commissionNotionalCollected"] == "-4"


def test_busted_trade_reverses_position_and_cash(partner: Partner, participant) -> None:
    pid, account = participant
    order = partner.post(VENDOR, vendor_order(account, "SIDE_BUY", 1000, 60)).json()
    trade = partner.post("/v1/report/trades/search", {"orderId": order["id"]}, pid=pid).json()
    trade_id = trade["trade"][0]["id"]
    assert partner.admin("POST", f"/trades/{trade_id}/bust").status_code == 200
    busted = partner.post("/v1/report/trades/search", {"tradeId": trade_id}, pid=pid).json()
    assert busted["trade"][0]["state"] == "TRADE_STATE_BUSTED"
    position = partner.get("/v1/positions", pid=pid, name=account).json()["positions"][0]
    assert position["netPosition"] == "0"
    balance = partner.post("/v1/positions/balance", {"name": account}, pid=pid).json()
    assert balance["balance"] == "1000.00"


def test_recon_hooks(partner: Partner, participant) -> None:
    pid, account = participant
    adjust = partner.admin("POST", "/accounts/adjust", {"account": account, "amount": "-5.00"})
    assert adjust.status_code == 200, adjust.text
    surprise = partner.admin(
        "POST", "/accounts/unrequested-deposit", {"account": account, "amount": "7.00"}
    )
    assert surprise.status_code == 200
    types = [
        e["entryType"][26:]
        for e in partner.get("/v1/funding/balance-ledger", pid=pid, account=account).json()[
            "entries"
        ]
    ]
    assert types[-2:] == ["MANUAL_ADJUSTMENT", "DEPOSIT"]
    balance = partner.post("/v1/positions/balance", {"name": account}, pid=pid).json()
    assert balance["balance"] == "1002.00"


def test_vendor_order_allowlist(partner: Partner, participant) -> None:
    _, account = participant
    gtc = vendor_order(account, "SIDE_BUY", 100, 60)
    gtc["order"]["timeInForce"] = "TIME_IN_FORCE_GOOD_TILL_CANCEL"
    assert partner.post(VENDOR, gtc).status_code == 400
    refused = partner.post(VENDOR, vendor_order(account, "SIDE_BUY", 100, 60, stopPrice="50"))
    assert refused.status_code == 400
    assert "stop_price" in refused.json()["message"]
    unknown = vendor_order(account, "SIDE_BUY", 100, 60)
    unknown["order"]["account"] = "firms/ISV-Else/accounts/nope"
    assert partner.post(VENDOR, unknown).status_code == 404
    broke = partner.post(VENDOR, vendor_order(account, "SIDE_BUY", 10_000_000, 60)).json()
    assert broke["status"] == "VENDOR_ORDER_STATUS_REJECTED"
