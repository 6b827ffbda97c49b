"""Order entry over REST (API.md 5.5.2): insert, cancel and the open orders of a participant.

Handlers read and check the request, then hand the order book (`sandbox.book`) one transaction.
"""

from __future__ import annotations

from typing import Any

from sandbox import book, wire
from sandbox.errors import ApiError, Code, invalid, not_found
from sandbox.messages import order_json
from sandbox.order_input import parse_order
from sandbox.routing import PID_REQUIRED, Ctx, Route


def insert_order(ctx: Ctx) -> dict[str, Any]:
    req = parse_order(ctx.body())
    req.account = ctx.own_account(req.account, "account")
    assert ctx.participant is not None
    participant = ctx.participant["participant_id"]
    with ctx.env.store.write() as db:
        book.check_clord_free(db, participant, req.clord_id)
        o = book.submit(db, req, firm_id=ctx.firm_id, participant=participant)
    return {"orderId": o["id"]}


def cancel_order(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    order_id = wire.text(body.get("order_id"), "orderId").strip()
    clord_id = wire.text(body.get("clord_id"), "clordId").strip()
    symbol = wire.text(body.get("symbol"), "symbol").strip()
    if not order_id and not clord_id:
        raise invalid("orderId or clordId is required")
    accounts = ctx.participant_accounts()
    if not accounts:
        raise not_found("order not found")
    marks = ",".join("?" * len(accounts))
    with ctx.env.store.write() as db:
        if order_id:
            row = db.execute(
                f"SELECT id FROM orders WHERE id = ? AND account IN ({marks})",  # noqa: S608
                (order_id, *accounts),
            ).fetchone()
        else:
            row = db.execute(
                f"SELECT id FROM orders WHERE clord_id = ? AND account IN ({marks}) "  # noqa: S608
                "ORDER BY (state IN ('NEW', 'PARTIALLY_FILLED')) DESC, seq DESC LIMIT 1",
                (clord_id, *accounts),
            ).fetchone()
        if row is None:
            raise not_found("order not found")
        o = book.load_order(db, row["id"])
        if symbol and symbol != o["symbol"]:
            raise invalid("symbol does not match the order")
        if o["state"] not in book.LIVE:
            raise ApiError(Code.ABORTED, f"order is {o['state'].lower()} and cannot be canceled")
        book.cancel(db, o, wire.ts())
    return {}


def open_orders(ctx: Ctx) -> dict[str, Any]:
    mine = ctx.participant_accounts()
    wanted = ctx.query_list("accounts")
    for account in wanted:
        ctx.own_account(account, "accounts")
    accounts = [a for a in mine if not wanted or a in wanted]
    symbols = ctx.query_list("symbols")
    if not accounts:
        return {"orders": []}
    sql = (
        f"SELECT * FROM orders WHERE account IN ({','.join('?' * len(accounts))}) "  # noqa: S608
        "AND state IN ('NEW', 'PARTIALLY_FILLED')"
    )
    params: list[Any] = list(accounts)
    if symbols:
        sql += f" AND symbol IN ({','.join('?' * len(symbols))})"
        params.extend(symbols)
    rows = ctx.db.execute(sql + " ORDER BY seq", params).fetchall()
    emit = ctx.env.settings.emit_zero_enums
    return {"orders": [order_json(r, emit) for r in rows]}


ROUTES = [
    Route(
        "/v1/trading/orders",
        ("POST",),
        insert_order,
        scope="write:orders",
        pid=PID_REQUIRED,
        family="orders",
        limit="insert_order",
    ),
    Route(
        "/v1/trading/orders/cancel",
        ("POST",),
        cancel_order,
        scope="write:orders",
        pid=PID_REQUIRED,
        family="orders",
        limit="cancel_order",
    ),
    Route(
        "/v1/trading/orders/open",
        ("GET",),
        open_orders,
        scope="read:orders",
        pid=PID_REQUIRED,
        family="orders",
    ),
]
