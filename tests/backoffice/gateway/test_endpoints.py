"""Each endpoint method against the fake seam: the request it sends and the typed result it reads,
with fixed-point values divided by the instrument's scales and both documented shapes accepted."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from backoffice.gateway.errors import MalformedResponse
from backoffice.gateway.inputs import VendorOrder
from backoffice.gateway.results import DocumentCapture
from backoffice.gateway.scales import Scales
from tests.backoffice.gateway.fakes import BASE_URL, Reply

PID = "firms/ISV-Participant-Acme/users/user-123"
ACCOUNT = "firms/ISV-Acme/accounts/8f3a2c"
SYMBOL = "aec-nfl-ne-den-2026-01-25"
FINE = "cpc-btc-above-day-2026-09-21-74000"  # half-cent ticks, fractional contracts
INSTRUMENT = {
    "symbol": SYMBOL,
    "tickSize": 0.01,
    "priceScale": "100",
    "fractionalQtyScale": "0",  # whole contracts: read as 1 (Appendix B 12)
    "minimumTradeQty": "1",
    "priceLimit": {"low": "1", "high": "99"},
    "state": "INSTRUMENT_STATE_OPEN",
    "eventAttributes": {"eventId": "nfl-ne-den-2026-01-25", "question": "Will NE win?"},
    "expirationDate": {"year": 2026, "month": 1, "day": 25},
    "metadata": {"event_series": "nfl"},
    "createTime": "2026-01-01T00:00:00.123456789Z",
}
FINE_INSTRUMENT = {
    "symbol": FINE,
    "tickSize": 0.005,
    "priceScale": "1000",
    "fractionalQtyScale": "100",
}
T = "2026-05-02T14:30:15.123456789Z"
T_PARSED = dt.datetime(2026, 5, 2, 14, 30, 15, 123456, tzinfo=dt.UTC)


def test_whoami(gateway, fake):
    fake.on("GET", "/v1/whoami", Reply(body={
        "user": "firms/ISV-Participant-Acme/users/admin", "userDisplayName": "Admin",
        "firm": "ISV-Participant-Acme", "firmDisplayName": "Acme", "audience": BASE_URL,
        "firmType": "FIRM_TYPE_TRADER",  # outside the enum in one quickstart: kept as sent
    }))  # fmt: skip

    who = gateway.whoami(actor=None)

    assert (who.firm, who.firm_display_name, who.firm_type) == (
        "ISV-Participant-Acme",
        "Acme",
        "FIRM_TYPE_TRADER",
    )
    assert who.audience == BASE_URL


def test_users_and_accounts(gateway, fake):
    fake.on("GET", "/v1/users", Reply(body={
        "users": [PID], "displayNames": ["John Doe"], "firms": ["ISV-Participant-Acme"],
        "firmsDisplayNames": ["Acme Trading"],
    }))  # fmt: skip
    fake.on("GET", "/v1/accounts", Reply(body={"accounts": [ACCOUNT], "displayNames": ["John's"]}))

    users = gateway.users(participant_id=PID, actor=None)
    accounts = gateway.accounts(user=PID, actor=None)

    assert [(u.participant_id, u.display_name, u.firm_display_name) for u in users] == [
        (PID, "John Doe", "Acme Trading")
    ]
    assert [(a.account, a.display_name) for a in accounts] == [(ACCOUNT, "John's")]
    assert fake.api_requests()[1].params == {"user": PID}


def test_kyc_status_current_and_legacy_shapes(gateway, fake):
    fake.on(
        "GET",
        "/v1/kyc/status",
        Reply(body={
            "status": {"decision": "REVIEW", "status": "ON_HOLD", "subStatus": "Document Request Initiated",
                       "externalId": "cust-1"},
            "docv": {"url": "https://docv.example/s/abc", "qrCode": "data:image/png;base64,AA",
                     "docvTransactionToken": "dt_abc123", "eventId": "evt_456", "sdkKey": ""},
            "participantId": "", "provisionedAccount": "",
        }),
        Reply(body={"externalId": "cust-1", "decision": "ACCEPT", "status": "CLOSED", "subStatus": "Accept",
                    "participantId": PID, "account": ACCOUNT}),
    )  # fmt: skip

    pending = gateway.kyc_status(external_id="cust-1", actor=None)
    legacy = gateway.kyc_status(external_id="cust-1", actor=None)

    assert (pending.decision, pending.status, pending.sub_status) == (
        "REVIEW",
        "ON_HOLD",
        "Document Request Initiated",
    )
    assert pending.docv == DocumentCapture(
        "https://docv.example/s/abc", "data:image/png;base64,AA", "dt_abc123", "evt_456"
    )
    assert "docv.example" not in repr(pending)
    assert "dt_abc123" not in repr(pending)
    assert not pending.provisioned
    assert (legacy.decision, legacy.status, legacy.participant_id, legacy.provisioned_account) == (
        "ACCEPT", "CLOSED", PID, ACCOUNT,
    )  # fmt: skip
    assert legacy.provisioned
    assert legacy.docv is None
    assert fake.api_requests()[0].params == {"external_id": "cust-1"}


def test_kyc_webhook_registration(gateway, fake):
    fake.on(
        "POST",
        "/v1/kyc/webhook",
        Reply(body={"validated": True, "message": "Webhook URL registered"}),
    )

    result = gateway.kyc_register_webhook(
        webhook_url="https://bo.example/webhooks/kyc",
        signing_secret="whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0",
        actor=None,
    )

    assert (result.validated, result.message) == (True, "Webhook URL registered")
    assert fake.api_requests()[0].json == {
        "webhook_url": "https://bo.example/webhooks/kyc",
        "signing_secret": "whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0",
    }


def test_cash_movements_and_the_funding_balance(gateway, fake):
    movement = {"cashMovement": {
        "workflowId": "wf-1", "idempotencyKey": "wd-1", "intentType": "transfer",
        "status": "CASH_MOVEMENT_STATUS_REJECTED", "amount": "125000.50", "currency": "USD",
        "sourceAccountId": ACCOUNT, "destinationAccountId": "firms/example-funding-entity/accounts/funding",
        "rejectionReason": "INSUFFICIENT_FUNDS", "createdAt": T, "updatedAt": "2026-05-02T14:30:16Z",
        "reason": "TRANSFER_REASON_WITHDRAWAL",
    }}  # fmt: skip
    fake.on(
        "POST",
        "/polymarket.us.cashmovement.v1.CashMovementService/GetCashMovement",
        Reply(body=movement),
    )
    fake.on(
        "POST",
        "/polymarket.us.cashmovement.v1.CashMovementService/GetFundingAccountBalance",
        Reply(body={"fundingAccountId": "firms/example-funding-entity/accounts/funding",
                    "balance": "125000.50", "currency": "USD", "asOf": "2026-08-10T14:30:00Z"}),
    )  # fmt: skip

    got = gateway.get_cash_movement(workflow_id="wf-1", actor=None)
    pool = gateway.funding_account_balance(actor=None)

    assert got.amount == Decimal("125000.50")
    assert (got.status, got.reason, got.rejection_reason) == (
        "CASH_MOVEMENT_STATUS_REJECTED", "TRANSFER_REASON_WITHDRAWAL", "INSUFFICIENT_FUNDS",
    )  # fmt: skip
    assert got.terminal
    assert got.created_at == T_PARSED
    assert pool.balance == Decimal("125000.50")
    assert pool.as_of == dt.datetime(2026, 8, 10, 14, 30, tzinfo=dt.UTC)
    assert [r.json for r in fake.api_requests()] == [{"workflowId": "wf-1"}, {"currency": "USD"}]


def test_a_vendor_order_is_sent_in_fixed_point(gateway, fake):
    fake.on(
        "POST",
        "/v1/refdata/instruments",
        Reply(body={"instruments": [FINE_INSTRUMENT], "eof": True}),
    )
    fake.on(
        "POST",
        "/polymarket.us.orderfunding.v1.OrderFundingService/CreateVendorOrder",
        Reply(body={"fundingRequestId": "fr-1", "id": "BT3DNMHB94XJ", "status": "VENDOR_ORDER_STATUS_ACCEPTED",
                    "correlation": {"idempotencyKey": "vo-1", "fundingRequestId": "fr-1",
                                    "requestId": "rq-1", "clordId": "c-1"}}),
    )  # fmt: skip
    order = VendorOrder(
        account=ACCOUNT, symbol=FINE, side="SIDE_BUY", price=Decimal("0.455"), clord_id="c-1",
        quantity=Decimal("3.12"),
    )  # fmt: skip

    result = gateway.create_vendor_order(
        idempotency_key="vo-1", order=order, vendor_fee=Decimal("0.10"), actor=None
    )

    assert (result.order_id, result.status, result.request_id) == (
        "BT3DNMHB94XJ",
        "VENDOR_ORDER_STATUS_ACCEPTED",
        "rq-1",
    )
    assert fake.api_requests()[-1].json == {
        "order": {
            "type": "ORDER_TYPE_LIMIT", "side": "SIDE_BUY", "symbol": FINE, "price": "455",
            "timeInForce": "TIME_IN_FORCE_FILL_OR_KILL", "clordId": "c-1", "account": ACCOUNT,
            "manualOrderIndicator": "MANUAL_ORDER_INDICATOR_MANUAL", "orderQty": "312",
        },
        "vendorFee": {"value": "0.10", "currency": "USD"},
        "idempotencyKey": "vo-1",
    }  # fmt: skip
    assert "x-participant-id" not in fake.api_requests()[-1].headers


def test_a_price_finer_than_the_scale_is_refused_before_sending(gateway, fake):
    fake.on(
        "POST", "/v1/refdata/instruments", Reply(body={"instruments": [INSTRUMENT], "eof": True})
    )
    order = VendorOrder(account=ACCOUNT, symbol=SYMBOL, side="SIDE_BUY", price=Decimal("0.455"),
                        clord_id="c-1", cash_amount=Decimal("20"))  # fmt: skip

    with pytest.raises(ValueError, match="finer than the instrument's scale"):
        gateway.create_vendor_order(
            idempotency_key="vo-1", order=order, vendor_fee=Decimal("0"), actor=None
        )

    assert [r.url for r in fake.api_requests()] == [f"{BASE_URL}/v1/refdata/instruments"]


def test_balance_and_balances(gateway, fake):
    balance = {"balance": "1000.00", "buyingPower": "750.50", "openOrders": "249.50",
               "securities": {SYMBOL: {"balance": "3", "marketValue": "1.41", "haircut": "0"}},
               "updateTime": "2026-09-17T12:00:00Z"}  # fmt: skip
    fake.on("POST", "/v1/positions/balance", Reply(body=balance))
    fake.on("POST", "/v1/positions/balances", Reply(body={"balances": {"USD": balance}}))

    one = gateway.balance(participant_id=PID, account=ACCOUNT, actor=None)
    every = gateway.balances(participant_id=PID, account=ACCOUNT, actor=None)

    assert (one.balance, one.buying_power, one.open_orders, one.excess_capital) == (
        Decimal("1000.00"), Decimal("750.50"), Decimal("249.50"), Decimal("0"),
    )  # fmt: skip
    assert one.securities[SYMBOL].market_value == Decimal("1.41")
    assert one.update_time == dt.datetime(2026, 9, 17, 12, tzinfo=dt.UTC)
    assert every == {"USD": one}
    assert fake.api_requests()[0].json == {"name": ACCOUNT, "currency": "USD"}


def test_positions_follow_pages_and_use_the_instruments_scales(gateway, fake):
    fake.on(
        "GET",
        "/v1/positions",
        Reply(body={"positions": [{"account": ACCOUNT, "symbol": SYMBOL, "netPosition": "150", "cost": "7800",
                                   "realized": "-250", "qtyBought": "200", "qtySold": "50", "updateTime": T}],
                    "availablePosition": ["150"], "nextPageToken": "eyJvIjoxfQ==", "eof": False}),
        Reply(body={"positions": [{"account": ACCOUNT, "symbol": FINE, "netPosition": "-312", "cost": "141960"}],
                    "nextPageToken": "", "eof": True}),
    )  # fmt: skip
    fake.on(
        "POST",
        "/v1/refdata/instruments",
        Reply(body={"instruments": [INSTRUMENT], "eof": True}),
        Reply(body={"instruments": [FINE_INSTRUMENT], "eof": True}),
    )

    positions = list(
        gateway.positions(
            participant_id=PID, account=ACCOUNT, non_zero_only=True, actor=None
        ).items()
    )

    whole, fine = positions
    assert (whole.net_position, whole.qty_bought, whole.qty_sold, whole.available_position) == (
        Decimal("150"), Decimal("200"), Decimal("50"), Decimal("150"),
    )  # fmt: skip
    assert (whole.cost, whole.realized) == (Decimal("78"), Decimal("-2.5"))  # notional / (100 x 1)
    assert fine.net_position == Decimal("-3.12")  # 312 / 100
    assert fine.cost == Decimal("1.4196")  # 141960 / (1000 x 100)
    assert fine.available_position is None
    position_requests = [r for r in fake.api_requests() if r.url.endswith("/v1/positions")]
    assert [r.params for r in position_requests] == [
        {"name": ACCOUNT, "nonZeroOnly": "true"},
        {"name": ACCOUNT, "nonZeroOnly": "true", "pageToken": "eyJvIjoxfQ=="},
    ]


def test_scales_are_fetched_once_and_cached(gateway, fake):
    fake.on(
        "GET",
        "/v1/positions",
        Reply(body={"positions": [{"symbol": SYMBOL, "netPosition": "1"}], "eof": True}),
    )
    fake.on(
        "POST", "/v1/refdata/instruments", Reply(body={"instruments": [INSTRUMENT], "eof": True})
    )

    for _ in range(3):
        list(gateway.positions(participant_id=PID, account=ACCOUNT, actor=None).items())

    refdata = [r for r in fake.api_requests() if r.url.endswith("/v1/refdata/instruments")]
    assert [r.json for r in refdata] == [{"symbols": [SYMBOL]}]


def test_the_balance_ledger_reads_both_entry_type_spellings(gateway, fake):
    fake.on(
        "GET",
        "/v1/funding/balance-ledger",
        Reply(body={"entries": [
            {"id": "bl_1", "account": ACCOUNT, "currency": "USD", "beforeBalance": "10000.00",
             "afterBalance": "9474.03", "entryType": "ORDER_EXECUTION", "updateTime": T,
             "updateBusinessDate": "2026-05-02", "description": "Buy 100 @ 525 + commission"},
            {"id": "bl_2", "beforeBalance": "9474.03", "afterBalance": "14474.03",
             "entryType": "LEDGER_ENTRY_TYPE_BALANCE_DEPOSIT"},
        ], "nextPageToken": "p2", "eof": False}),
        Reply(body={"entries": [], "nextPageToken": "", "eof": True}),
    )  # fmt: skip
    start = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)

    entries = list(gateway.balance_ledger(
        participant_id=PID, account=ACCOUNT, start_time=start, entry_types=["DEPOSIT"], actor=None
    ).items())  # fmt: skip

    assert [(e.id, e.entry_type, e.amount) for e in entries] == [
        ("bl_1", "LEDGER_ENTRY_TYPE_BALANCE_ORDER_EXECUTION", Decimal("-525.97")),
        ("bl_2", "LEDGER_ENTRY_TYPE_BALANCE_DEPOSIT", Decimal("5000.00")),
    ]
    assert entries[0].update_business_date == dt.date(2026, 5, 2)
    assert entries[0].update_time == T_PARSED
    assert fake.api_requests()[0].params == {
        "account": ACCOUNT, "startTime": "2026-05-01T00:00:00Z",
        "entryTypes": ["LEDGER_ENTRY_TYPE_BALANCE_DEPOSIT"], "pageSize": 1000,
    }  # fmt: skip
    assert fake.api_requests()[1].params["pageToken"] == "p2"


def test_the_position_ledger(gateway, fake):
    gateway.scales.put(SYMBOL, Scales(1000, 1))
    fake.on("GET", "/v1/positions/ledger", Reply(body={"entries": [
        {"id": "pl_1", "account": ACCOUNT, "symbol": SYMBOL, "quantityChange": "50", "costChange": "26000",
         "netPosition": "150", "cost": "78000", "realized": "0", "description": "Trade fill"},
    ], "eof": True}))  # fmt: skip

    (entry,) = gateway.position_ledger(participant_id=PID, account=ACCOUNT, actor=None).items()

    assert (entry.quantity_change, entry.cost_change, entry.net_position, entry.cost) == (
        Decimal("50"), Decimal("26"), Decimal("150"), Decimal("78"),
    )  # fmt: skip


def test_instruments_read_scales_limits_and_dates(gateway, fake):
    fake.on(
        "POST",
        "/v1/refdata/instruments",
        Reply(
            body={"instruments": [INSTRUMENT, {"symbol": "x", "priceScale": "100"}], "eof": True}
        ),
    )

    instrument, closed = gateway.instruments(symbols=[SYMBOL, "x"], actor=None).items()

    assert (instrument.price_scale, instrument.qty_scale, instrument.tick_size) == (
        100,
        1,
        Decimal("0.01"),
    )
    assert (instrument.price_limit_low, instrument.price_limit_high) == (
        Decimal("0.01"),
        Decimal("0.99"),
    )
    assert instrument.minimum_trade_qty == Decimal("1")
    assert instrument.expiration_date == dt.date(2026, 1, 25)
    assert instrument.create_time == dt.datetime(2026, 1, 1, 0, 0, 0, 123456, tzinfo=dt.UTC)
    assert (instrument.event_id, instrument.metadata) == (
        "nfl-ne-den-2026-01-25",
        {"event_series": "nfl"},
    )
    assert closed.state == "INSTRUMENT_STATE_CLOSED"  # the omitted zero value


def test_settlement(gateway, fake):
    fake.on(
        "GET",
        f"/v1/instruments/{SYMBOL}/settlement",
        Reply(body={"symbol": SYMBOL, "stats": {"settlementPx": "100", "settlementPreliminary": False,
                    "settlementPriceCalculationMethod": "SETTLEMENT_PRICE_CALCULATION_METHOD_EVENT_TIER_1",
                    "settlementSetTime": "2026-01-26T03:00:00Z"}, "priceScale": "100"}),
        Reply(body={"symbol": SYMBOL, "stats": {"settlementPreliminary": False}, "priceScale": "100"}),
        Reply(body={"symbol": SYMBOL, "priceScale": "100"}),
    )  # fmt: skip

    won = gateway.settlement(symbol=SYMBOL, actor=None)
    lost = gateway.settlement(symbol=SYMBOL, actor=None)
    open_ = gateway.settlement(symbol=SYMBOL, actor=None)

    assert (won.settled, won.settlement_price) == (True, Decimal("1"))
    assert (lost.settled, lost.settlement_price) == (True, Decimal("0"))  # a present zero is valid
    assert (open_.settled, open_.settlement_price) == (False, None)


ORDER = {
    "id": "BT3DNMHB94XJ", "clordId": "c-1", "symbol": FINE, "account": ACCOUNT, "side": "SIDE_BUY",
    "type": "ORDER_TYPE_LIMIT", "timeInForce": "TIME_IN_FORCE_GOOD_TILL_CANCEL",
    "orderQty": "10000", "cumQty": "312", "leavesQty": "9688", "price": "455", "avgPx": "450",
    "cashOrderQty": "20000", "commissionNotionalTotalCollected": "100", "priceScale": "1000",
    "fractionalQuantityScale": "100", "insertTime": T,
}  # fmt: skip


def test_orders_executions_and_trades(gateway, fake):
    execution = {"id": "BW9QY8RWN52Z", "order": ORDER, "lastShares": "312", "lastPx": "450",
                 "type": "EXECUTION_TYPE_PARTIAL_FILL", "commissionNotionalCollected": "-4",
                 "aggressor": True, "tradeId": "tr-1", "transactTime": T,
                 "transactTradeDate": {"year": 2026, "month": 5, "day": 2}}  # fmt: skip
    fake.on(
        "POST",
        "/v1/report/orders/search",
        Reply(
            body={"order": [ORDER, {**ORDER, "state": "ORDER_STATE_FILLED"}], "nextPageToken": ""}
        ),
    )
    fake.on(
        "POST",
        "/v1/report/executions/search",
        Reply(body={"executions": [execution, {"id": "X2", "order": ORDER}], "eof": True}),
    )
    fake.on(
        "POST",
        "/v1/report/trades/search",
        Reply(
            body={"trade": [{"id": "tr-1", "aggressor": execution, "state": "TRADE_STATE_CLEARED"}]}
        ),
    )
    fake.on("GET", "/v1/trading/orders/open", Reply(body={"orders": [ORDER]}))
    fake.on("POST", "/v1/trading/orders/cancel", Reply(body={}))

    new, filled = gateway.search_orders(participant_id=PID, accounts=[ACCOUNT], actor=None).items()
    partial, bare = gateway.search_executions(participant_id=PID, actor=None).items()
    (trade,) = gateway.search_trades(participant_id=PID, actor=None).items()
    (resting,) = gateway.open_orders(participant_id=PID, symbols=[FINE], actor=None)
    gateway.cancel_order(participant_id=PID, order_id="BT3DNMHB94XJ", symbol=FINE, actor=None)

    assert (new.state, filled.state) == (
        "ORDER_STATE_NEW",
        "ORDER_STATE_FILLED",
    )  # omitted zero value
    assert (new.price, new.avg_px, new.order_qty, new.cum_qty, new.leaves_qty) == (
        Decimal("0.455"), Decimal("0.45"), Decimal("100"), Decimal("3.12"), Decimal("96.88"),
    )  # fmt: skip
    assert (new.cash_order_qty, new.commission_total) == (Decimal("20"), Decimal("0.001"))
    assert new.stop_price is None
    assert new.insert_time == T_PARSED
    assert (partial.last_shares, partial.last_px, partial.commission) == (
        Decimal("3.12"), Decimal("0.45"), Decimal("-0.00004"),
    )  # fmt: skip
    assert partial.transact_trade_date == dt.date(2026, 5, 2)
    assert (bare.type, bare.last_px, bare.order_reject_reason) == ("EXECUTION_TYPE_NEW", None, "")
    assert (trade.state, trade.aggressor, trade.passive) == ("TRADE_STATE_CLEARED", partial, None)
    assert resting == new
    requests = fake.api_requests()
    assert requests[0].json == {"accounts": [ACCOUNT]}
    assert requests[3].params == {"symbols": [FINE]}
    assert requests[4].json == {"orderId": "BT3DNMHB94XJ", "symbol": FINE}
    assert all(r.headers["x-participant-id"] == PID for r in requests)


def test_a_field_of_the_wrong_type_is_a_malformed_answer(gateway, fake):
    fake.on("POST", "/v1/positions/balance", Reply(body={"balance": "lots"}))

    with pytest.raises(MalformedResponse, match=r"balance\.balance"):
        gateway.balance(participant_id=PID, account=ACCOUNT, actor=None)

    assert len(fake.api_requests()) == 5  # a read: retried, then given up
