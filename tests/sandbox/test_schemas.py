"""Responses validate against Polymarket's own OpenAPI schemas, with unknown fields refused."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs in the lock file

from tests import openapi
from tests.sandbox.partner import VENDOR, Partner
from tests.sandbox.test_trading import SYMBOL, vendor_order


def check(name: str, component: str, instance: Any) -> None:
    schema = copy.copy(openapi.document(name))
    schema["$ref"] = f"#/components/schemas/{component}"
    jsonschema.Draft202012Validator(schema).validate(instance)


def test_rest_responses_match_openapi(partner: Partner, participant: tuple[str, str]) -> None:
    pid, account = participant
    partner.post(VENDOR, vendor_order(account, "SIDE_BUY", 1000, 60))
    partner.post(
        "/v1/trading/orders",
        {
            "side": "SIDE_BUY",
            "orderQty": "100",
            "symbol": SYMBOL,
            "price": "30",
            "account": account,
        },
        pid=pid,
    )
    check("accounts", "v1GetWhoAmIResponse", partner.get("/v1/whoami").json())
    check("accounts", "v1ListUsersResponse", partner.get("/v1/users", pid=pid).json())
    check("accounts", "v1ListAccountsResponse", partner.get("/v1/accounts", pid=pid).json())
    check("health", "v1HealthCheckResponse", partner.get("/v1/health").json())
    check(
        "funding",
        "v1GetAccountBalanceLedgerResponse",
        partner.get("/v1/funding/balance-ledger", pid=pid, account=account).json(),
    )
    check(
        "positions",
        "v1GetAccountBalanceResponse",
        partner.post("/v1/positions/balance", {"name": account, "currency": "USD"}, pid=pid).json(),
    )
    check(
        "positions",
        "v1ListAccountBalancesResponse",
        partner.post("/v1/positions/balances", {"name": account}, pid=pid).json(),
    )
    check(
        "positions",
        "v1ListAccountPositionsResponse",
        partner.get("/v1/positions", pid=pid, name=account).json(),
    )
    check(
        "positions",
        "v1GetPositionLedgerResponse",
        partner.get("/v1/positions/ledger", pid=pid, account=account).json(),
    )
    check(
        "refdata",
        "v1ListInstrumentsResponse",
        partner.post("/v1/refdata/instruments", {}).json(),
    )
    check("refdata", "v1ListSymbolsResponse", partner.post("/v1/refdata/symbols", {}).json())
    check("orderbook", "v1GetOrderBookResponse", partner.get(f"/v1/orderbook/{SYMBOL}").json())
    check("orderbook", "v1GetBBOResponse", partner.get(f"/v1/orderbook/{SYMBOL}/bbo").json())
    check(
        "trading", "v1GetOpenOrdersResponse", partner.get("/v1/trading/orders/open", pid=pid).json()
    )
    check(
        "report",
        "v1SearchOrdersResponse",
        partner.post("/v1/report/orders/search", {"withLastExecution": True}, pid=pid).json(),
    )
    check(
        "report",
        "v1SearchExecutionsResponse",
        partner.post("/v1/report/executions/search", {}, pid=pid).json(),
    )
    check(
        "report",
        "v1SearchTradesResponse",
        partner.post("/v1/report/trades/search", {}, pid=pid).json(),
    )
    partner.admin("POST", f"/instruments/{SYMBOL}/settle", {"settlementPx": 0})
    check(
        "settlement",
        "v1GetInstrumentSettlementResponse",
        partner.get(f"/v1/instruments/{SYMBOL}/settlement").json(),
    )
    inserted = partner.post(
        "/v1/trading/orders",
        {
            "side": "SIDE_SELL",
            "orderQty": "100",
            "symbol": "tec-nfl-sbw-2026-02-08-kc",
            "price": "70",
        },
        pid=pid,
    )
    check("trading", "v1InsertOrderResponse", inserted.json())
