"""The contract: every operation of Polymarket's OpenAPI schemas is routed by the sandbox and
answers 200 with a body that validates against the operation's own response schema (unknown
fields refused), for a request that validates against its request schema.

A schema operation added to tests/openapi/ fails `test_every_schema_operation_has_an_example`
until it has an example request here, so none can be missing silently.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs in the lock file
import pytest
from werkzeug.exceptions import MethodNotAllowed, NotFound

from sandbox.server import SandboxServer
from tests import openapi
from tests.sandbox.conftest import start_sandbox
from tests.sandbox.partner import VENDOR, Partner, register_partner
from tests.sandbox.test_order_entry import order
from tests.sandbox.test_trading import SYMBOL, vendor_order

T0, T1 = "2026-05-01T00:00:00Z", "2099-01-01T00:00:00Z"


@dataclass(frozen=True)
class Operation:
    document: str
    method: str
    path: str  # the template, e.g. /v1/orderbook/{symbol}
    spec: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.spec["operationId"])

    @property
    def streams(self) -> bool:
        return "(streaming responses)" in self.spec["responses"]["200"]["description"]


def operations() -> list[Operation]:
    return [
        Operation(name, method.upper(), path, spec)
        for name in openapi.names()
        for path, methods in openapi.document(name)["paths"].items()
        for method, spec in methods.items()
    ]


@dataclass
class World:
    """One participant with a filled order and resting orders to cancel and replace."""

    partner: Partner
    pid: str
    account: str
    resting: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    body: dict[str, Any] | None = None
    params: dict[str, Any] | None = None
    pid: bool = True
    path_args: dict[str, str] = field(default_factory=dict)


def _new_leg(w: World, side: str, price: int) -> dict[str, Any]:
    return order(w.account, side, 100, price, clordId="k-" + uuid.uuid4().hex[:8])


EXAMPLES: dict[str, Callable[[World], Call]] = {
    "AccountsAPI_ListAccounts": lambda w: Call(),
    "UsersAPI_ListUsers": lambda w: Call(),
    "AccountsAPI_GetWhoAmI": lambda w: Call(pid=False),
    "HealthAPI_HealthCheck": lambda w: Call(pid=False),
    "FundingAPI_GetAccountBalanceLedger": lambda w: Call(params={"account": w.account}),
    "FundingAPI_DownloadBalanceLedger": lambda w: Call(params={"account": w.account}),
    "OrderBookAPI_GetOrderBook": lambda w: Call(pid=False, path_args={"symbol": SYMBOL}),
    "OrderBookAPI_GetBBO": lambda w: Call(pid=False, path_args={"symbol": SYMBOL}),
    "PositionAPI_ListAccountPositions": lambda w: Call(
        params={"name": w.account, "asOfDate.year": 2099, "asOfDate.month": 1, "asOfDate.day": 1}
    ),
    "PositionAPI_GetAccountBalance": lambda w: Call(body={"name": w.account, "currency": "USD"}),
    "PositionAPI_ListAccountBalances": lambda w: Call(body={"name": w.account}),
    "PositionAPI_GetPositionLedger": lambda w: Call(params={"account": w.account}),
    "PositionAPI_DownloadPositionLedger": lambda w: Call(params={"account": w.account}),
    "RefDataAPI_ListInstruments": lambda w: Call(body={}, pid=False),
    "RefDataAPI_GetInstrumentMetadata": lambda w: Call(body={}, pid=False),
    "RefDataAPI_ListSymbols": lambda w: Call(body={}, pid=False),
    "ReportAPI_SearchOrders": lambda w: Call(body={"withLastExecution": True}),
    "ReportAPI_SearchExecutions": lambda w: Call(body={}),
    "ReportAPI_SearchTrades": lambda w: Call(body={}),
    "ReportAPI_DownloadOrders": lambda w: Call(body={"startTime": T0, "endTime": T1}),
    "ReportAPI_DownloadExecutions": lambda w: Call(body={"accounts": [w.account]}),
    "ReportAPI_DownloadTrades": lambda w: Call(body={}, pid=False),
    "ReportAPI_GetTradeStats": lambda w: Call(
        body={"symbol": SYMBOL, "startTime": T0, "endTime": T1, "bars": 2}, pid=False
    ),
    "SettlementService_GetInstrumentSettlement": lambda w: Call(
        pid=False, path_args={"symbol": SYMBOL}
    ),
    "OrderEntryAPI_InsertOrder": lambda w: Call(body=_new_leg(w, "SIDE_BUY", 30)),
    "OrderEntryAPI_InsertOrderList": lambda w: Call(
        body={"requests": [_new_leg(w, "SIDE_BUY", 31), _new_leg(w, "SIDE_BUY", 32)]}
    ),
    "OrderEntryAPI_InsertOrderCross": lambda w: Call(
        body={
            "requests": [_new_leg(w, "SIDE_BUY", 50), _new_leg(w, "SIDE_SELL", 50)],
            "crossType": "CROSS_TYPE_ALL_OR_NONE",
            "crossId": "cross-1",
            "crossPrioritizedSide": "SIDE_SELL",
        }
    ),
    "OrderEntryAPI_PreviewOrder": lambda w: Call(body={"request": _new_leg(w, "SIDE_BUY", 60)}),
    "OrderEntryAPI_GetOpenOrders": lambda w: Call(params={"symbols": SYMBOL}),
    "OrderEntryAPI_CancelOrder": lambda w: Call(body={"orderId": w.resting["cancel"]}),
    "OrderEntryAPI_CancelOrderList": lambda w: Call(
        body={"requests": [{"orderId": w.resting["cancel-list"], "symbol": SYMBOL}]}
    ),
    "OrderEntryAPI_CancelReplaceOrder": lambda w: Call(
        body={"orderId": w.resting["replace"], "price": "39", "orderQty": "200"}
    ),
    "OrderEntryAPI_CancelReplaceOrderList": lambda w: Call(
        body={"requests": [{"orderId": w.resting["replace-list"], "price": "38"}]}
    ),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    running = start_sandbox(tmp_path_factory.mktemp("contract"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def world(server: SandboxServer) -> World:
    partner = register_partner(server.url)
    pid, account = partner.onboard()
    partner.deposit(account, "1000.00")
    filled = partner.post(VENDOR, vendor_order(account, "SIDE_BUY", 1000, 60))
    assert filled.status_code == 200, filled.text
    w = World(partner, pid, account)
    for name, price in (("cancel", 40), ("cancel-list", 41), ("replace", 42), ("replace-list", 43)):
        placed = partner.post("/v1/trading/orders", _new_leg(w, "SIDE_BUY", price), pid=pid)
        w.resting[name] = placed.json()["orderId"]
    return w


def test_every_schema_operation_has_an_example() -> None:
    assert {op.id for op in operations()} == set(EXAMPLES)


@pytest.mark.parametrize("operation", operations(), ids=lambda op: op.id)
def test_every_schema_operation_is_routed(server: SandboxServer, operation: Operation) -> None:
    path = operation.path.replace("{symbol}", SYMBOL)
    adapter = server.sandbox.url_map.bind("sandbox.test")
    try:
        endpoint, _ = adapter.match(path, method=operation.method)
    except (NotFound, MethodNotAllowed) as exc:
        raise AssertionError(f"{operation.method} {operation.path} is not routed") from exc
    route = server.sandbox.routes[str(endpoint)]
    assert not route.path.startswith("/_sandbox"), route


def _validate(document: str, schema: dict[str, Any], instance: Any) -> None:
    full = copy.copy(openapi.document(document))
    full.update(schema)
    jsonschema.Draft202012Validator(full).validate(instance)


def _check_request(operation: Operation, call: Call) -> None:
    declared = {p["name"] for p in operation.spec.get("parameters", []) if p["in"] == "query"}
    assert set(call.params or {}) <= declared, set(call.params or {}) - declared
    if call.body is not None:
        body = operation.spec["requestBody"]["content"]["application/json"]["schema"]
        _validate(operation.document, body, call.body)


@pytest.mark.parametrize("operation", operations(), ids=lambda op: op.id)
def test_every_schema_operation_answers_schema_valid(world: World, operation: Operation) -> None:
    call = EXAMPLES[operation.id](world)
    _check_request(operation, call)
    path = operation.path.format(**call.path_args)
    pid = world.pid if call.pid else None
    if operation.method == "GET":
        response = world.partner.get(path, pid=pid, **(call.params or {}))
    else:
        response = world.partner.post(path, call.body, pid=pid)
    assert response.status_code == 200, (operation.id, response.text)
    schema = operation.spec["responses"]["200"]["content"]["application/json"]["schema"]
    if operation.streams:
        messages = [json.loads(line) for line in response.text.splitlines()]
        assert messages, f"{operation.id} sent an empty file"
        for message in messages:
            _validate(operation.document, schema, message)
    else:
        _validate(operation.document, schema, response.json())
