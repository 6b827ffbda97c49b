"""The exchange's endpoints as the gateway calls them (API.md section 0, in its order): path,
client-side rate-limit family, and the two facts the call loop decides by: whether a call changes
state at the exchange, and whether sending it again is safe."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backoffice.gateway.rpc import CASH_MOVEMENT_SERVICE, ORDER_FUNDING_SERVICE, rpc_path


@dataclass(frozen=True)
class Endpoint:
    operation: str
    method: str
    path: str  # template, as recorded
    family: str | None = None  # client-side rate-limit family (ratelimit.LIMITS)
    # Changes something at the exchange. A write that fails after it was sent has an unknown
    # outcome; a read that fails changed nothing.
    changes_state: bool = False
    retry_safe: bool = True  # a read, or a write carrying an idempotency key
    participant: bool = False  # sends x-participant-id
    rpc: tuple[str, str] | None = None  # (service, method) for the Connect JSON services
    empty_ok: bool = False  # an empty body is a valid answer
    download: bool = False  # the answer is a file in chunks, one JSON message per line


def _rpc(operation: str, service: str, method: str, **kwargs: Any) -> Endpoint:
    return Endpoint(operation, "POST", rpc_path(service, method), rpc=(service, method), **kwargs)


# Writes without an idempotency key are never retried blindly: KYC start (a retry could open a
# second evaluation), webhook registration and cancel.
WHOAMI = Endpoint("whoami", "GET", "/v1/whoami")
USERS = Endpoint("users", "GET", "/v1/users", participant=True)
ACCOUNTS = Endpoint("accounts", "GET", "/v1/accounts")
KYC_START = Endpoint("kyc_start", "POST", "/v1/kyc/start", changes_state=True, retry_safe=False)
KYC_STATUS = Endpoint("kyc_status", "GET", "/v1/kyc/status")
KYC_WEBHOOK = Endpoint(
    "kyc_register_webhook", "POST", "/v1/kyc/webhook", changes_state=True, retry_safe=False
)
CREATE_CASH_MOVEMENT = _rpc(
    "create_cash_movement",
    CASH_MOVEMENT_SERVICE,
    "CreateCashMovement",
    family="transfers",
    changes_state=True,
)
GET_CASH_MOVEMENT = _rpc(
    "get_cash_movement", CASH_MOVEMENT_SERVICE, "GetCashMovement", family="transfers"
)
FUNDING_ACCOUNT_BALANCE = _rpc(
    "funding_account_balance",
    CASH_MOVEMENT_SERVICE,
    "GetFundingAccountBalance",
    family="transfers",
)
CREATE_VENDOR_ORDER = _rpc(
    "create_vendor_order", ORDER_FUNDING_SERVICE, "CreateVendorOrder", changes_state=True
)
BALANCE = Endpoint("balance", "POST", "/v1/positions/balance", participant=True)
BALANCES = Endpoint("balances", "POST", "/v1/positions/balances", participant=True)
POSITIONS = Endpoint("positions", "GET", "/v1/positions", participant=True)
BALANCE_LEDGER = Endpoint(
    "balance_ledger", "GET", "/v1/funding/balance-ledger", family="ledger", participant=True
)
POSITION_LEDGER = Endpoint(
    "position_ledger", "GET", "/v1/positions/ledger", family="ledger", participant=True
)
INSTRUMENTS = Endpoint("instruments", "POST", "/v1/refdata/instruments", family="refdata")
SEARCH_ORDERS = Endpoint(
    "search_orders", "POST", "/v1/report/orders/search", family="report_search", participant=True
)
SEARCH_EXECUTIONS = Endpoint(
    "search_executions",
    "POST",
    "/v1/report/executions/search",
    family="report_search",
    participant=True,
)
SEARCH_TRADES = Endpoint(
    "search_trades", "POST", "/v1/report/trades/search", family="report_search", participant=True
)
OPEN_ORDERS = Endpoint("open_orders", "GET", "/v1/trading/orders/open", participant=True)
CANCEL_ORDER = Endpoint(
    "cancel_order",
    "POST",
    "/v1/trading/orders/cancel",
    family="cancel",
    changes_state=True,
    retry_safe=False,
    participant=True,
    empty_ok=True,
)
# Without x-participant-id a download covers every account of the firm: one call serves a firm of
# thousands of participants. The exchange paces them with the searches (12 a minute per firm).
DOWNLOAD_ORDERS = Endpoint(
    "download_orders", "POST", "/v1/report/orders/csv", family="report_search", download=True
)
DOWNLOAD_EXECUTIONS = Endpoint(
    "download_executions",
    "POST",
    "/v1/report/executions/csv",
    family="report_search",
    download=True,
)
# The valuations statement: many accounts' position totals at a point in time in one call
# (API.md 5.4 "Valuations"). The exchange states no limit of its own for it; it is paced as the
# other downloads are (about 5 a minute).
STATEMENT = Endpoint(
    "statement",
    "POST",
    "/v1/valuations/accounts/statement/download",
    family="download",
    download=True,
)
SETTLEMENT = Endpoint(
    "settlement", "GET", "/v1/instruments/{symbol}/settlement", family="settlement"
)

ENDPOINTS = (
    WHOAMI, USERS, ACCOUNTS, KYC_START, KYC_STATUS, KYC_WEBHOOK, CREATE_CASH_MOVEMENT,
    GET_CASH_MOVEMENT, FUNDING_ACCOUNT_BALANCE, CREATE_VENDOR_ORDER, BALANCE, BALANCES, POSITIONS,
    BALANCE_LEDGER, POSITION_LEDGER, INSTRUMENTS, SEARCH_ORDERS, SEARCH_EXECUTIONS, SEARCH_TRADES,
    OPEN_ORDERS, CANCEL_ORDER, DOWNLOAD_ORDERS, DOWNLOAD_EXECUTIONS, STATEMENT, SETTLEMENT,
)  # fmt: skip
