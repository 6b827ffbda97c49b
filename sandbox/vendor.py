"""OrderFundingService/CreateVendorOrder over Connect JSON (API.md 5.5.1).

FOK LIMIT only, behind a fail-closed allowlist of order fields; at most one order per idempotency
key (an identical replay returns the recorded outcome, a changed one is ALREADY_EXISTS). The vendor
fee is recorded against the order and never moved here (it is collected by a VENDOR_FEES transfer).
"""

from __future__ import annotations

from typing import Any

from sandbox import book, wire
from sandbox.errors import ApiError, Code, invalid, not_found
from sandbox.order_input import CLORD_RE, parse_order
from sandbox.routing import CONNECT, Ctx, Route

ALLOWED = {
    "type",
    "side",
    "order_qty",
    "cash_order_qty",
    "symbol",
    "price",
    "time_in_force",
    "clord_id",
    "account",
    "manual_order_indicator",
}
REFUSED = {
    "stop_price",
    "min_qty",
    "self_match_prevention_id",
    "quote",
    "all_or_none",
    "session_id",
    "user",
    "client_account_id",
    "client_participant_id",
    "participate_dont_initiate",
    "strict_limit",
    "good_till_time",
    "best_limit",
    "immediately_executable_limit",
    "self_match_prevention_instruction",
    "order_capacity",
    "ignore_price_validity_checks",
}
INDICATORS = {"MANUAL_ORDER_INDICATOR_MANUAL", "MANUAL_ORDER_INDICATOR_AUTOMATED"}


def _validate(body: dict[str, Any]) -> tuple[dict[str, Any], str, str]:
    order = body.get("order")
    if not isinstance(order, dict):
        raise invalid("order is required")
    for name in sorted(REFUSED):
        if order.get(name) not in (None, "", 0, "0", False, [], {}):
            raise invalid(f"order.{name} is not supported by CreateVendorOrder")
    clean = {k: v for k, v in order.items() if k in ALLOWED}
    if str(clean.get("type", "")).removeprefix("ORDER_TYPE_") != "LIMIT":
        raise invalid("order.type must be ORDER_TYPE_LIMIT")
    if str(clean.get("time_in_force", "")).removeprefix("TIME_IN_FORCE_") != "FILL_OR_KILL":
        raise invalid("order.time_in_force must be TIME_IN_FORCE_FILL_OR_KILL")
    if wire.int64(clean.get("price"), "order.price", default=0) <= 0:
        raise invalid("order.price must be a positive YES limit price")
    clord = wire.text(clean.get("clord_id"), "order.clord_id")
    if not CLORD_RE.match(clord):
        raise invalid("order.clord_id: required, 1-64 visible ASCII characters")
    if not wire.text(clean.get("account"), "order.account"):
        raise invalid("order.account is required")
    if clean.get("manual_order_indicator") not in INDICATORS:
        raise invalid("order.manual_order_indicator must be MANUAL or AUTOMATED")
    fee = body.get("vendor_fee")
    if not isinstance(fee, dict):
        raise invalid("vendor_fee is required")
    value = wire.money(fee.get("value"), "vendor_fee.value")
    if value < 0:
        raise invalid("vendor_fee.value must not be negative")
    currency = wire.text(fee.get("currency"), "vendor_fee.currency").upper() or "USD"
    if currency != "USD":
        raise invalid("vendor_fee.currency must be USD")
    key = wire.text(body.get("idempotency_key"), "idempotency_key").strip()
    if not key:
        raise invalid("idempotency_key is required")
    return clean, str(value.normalize()), key


def _response(row: Any) -> dict[str, Any]:
    data = {
        "fundingRequestId": row["funding_request_id"],
        "id": row["order_id"],
        "status": "VENDOR_ORDER_STATUS_" + row["status"],
        "correlation": {
            "idempotencyKey": row["idempotency_key"],
            "fundingRequestId": row["funding_request_id"],
            "requestId": wire.workflow_id(),
            "clordId": row["clord_id"],
        },
    }
    return {k: v for k, v in data.items() if v != ""}


def create_vendor_order(ctx: Ctx) -> dict[str, Any]:
    clean, fee, key = _validate(ctx.body())
    req = parse_order(clean)
    request_hash = wire.canonical({"order": clean, "fee": fee, "key": key})
    with ctx.env.store.write() as db:
        existing = db.execute(
            "SELECT * FROM vendor_orders WHERE firm_id = ? AND idempotency_key = ?",
            (ctx.firm_id, key),
        ).fetchone()
        if existing is not None:
            if existing["request_hash"] != request_hash:
                raise ApiError(
                    Code.ALREADY_EXISTS, "idempotency_key is bound to a different request"
                )
            return _response(existing)
        account = db.execute(
            "SELECT * FROM accounts WHERE account = ? AND firm_id = ? AND kind = 'participant'",
            (req.account, ctx.firm_id),
        ).fetchone()
        if account is None:
            raise not_found("no relationship for the firm and order.account")
        book.check_clord_free(db, account["participant_id"], req.clord_id)
        o = book.submit(
            db, req, firm_id=ctx.firm_id, participant=account["participant_id"], vendor_fee=fee
        )
        status = "REJECTED" if o["state"] == "REJECTED" else "ACCEPTED"
        db.execute(
            "INSERT INTO vendor_orders (firm_id, idempotency_key, request_hash, funding_request_id, "
            "order_id, status, clord_id, account, vendor_fee, currency, business_date, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'USD', ?, ?)",
            (
                ctx.firm_id,
                key,
                request_hash,
                "fr_" + wire.ulid(),
                o["id"],
                status,
                req.clord_id,
                req.account,
                fee if status == "ACCEPTED" else "0",
                wire.business_date().isoformat(),
                wire.ts(),
            ),
        )
        row = db.execute(
            "SELECT * FROM vendor_orders WHERE firm_id = ? AND idempotency_key = ?",
            (ctx.firm_id, key),
        ).fetchone()
    return _response(row)


ROUTES = [
    Route(
        "/polymarket.us.orderfunding.v1.OrderFundingService/CreateVendorOrder",
        ("POST",),
        create_vendor_order,
        style=CONNECT,
        scope="write:orders",
        family="vendor_orders",
        limit="insert_order",
    ),
]
