"""Order entry over REST (API.md 5.5.2): insert, cancel and replace, one at a time or in lists,
crosses, previews, and the open orders of a participant.

Handlers read and check the request, then hand the order book (`sandbox.book`) one transaction. A
list is all or nothing: the first request that is refused (named by its index) refuses the call,
and nothing of the list is kept.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from sandbox import book, wire
from sandbox.engine.enums import OrderType, Side, TimeInForce
from sandbox.errors import ApiError, invalid, not_found
from sandbox.messages import order_json
from sandbox.order_input import (
    OrderRequest,
    parse_clord,
    parse_enum,
    parse_good_till,
    parse_order,
)
from sandbox.routing import PID_REQUIRED, Ctx, Route

LIST_MAX = 20  # operations per list call (API.md 5.5.2)
CROSS_TYPES = ("", "CROSS_TYPE_ALL_OR_NONE")

T = TypeVar("T")
R = TypeVar("R")


def _each(items: list[T], apply: Callable[[T], R]) -> list[R]:
    """`apply` to every request of a list, in order, naming the one that is refused."""
    results: list[R] = []
    for index, item in enumerate(items):
        try:
            results.append(apply(item))
        except ApiError as exc:
            raise ApiError(exc.code, f"requests[{index}]: {exc.message}") from exc
    return results


def _requests(body: dict[str, Any], most: int = LIST_MAX) -> list[dict[str, Any]]:
    items = body.get("requests")
    if not isinstance(items, list) or not items:
        raise invalid("requests is required")
    if len(items) > most:
        raise invalid(f"requests: at most {most} per call")
    if not all(isinstance(item, dict) for item in items):
        raise invalid("requests: each request must be a JSON object")
    return items


def _participant(ctx: Ctx) -> str:
    assert ctx.participant is not None  # the route requires x-participant-id
    return str(ctx.participant["participant_id"])


def _order_request(ctx: Ctx, body: dict[str, Any]) -> OrderRequest:
    req = parse_order(body)
    req.account = ctx.own_account(req.account, "account")
    return req


def _insert(ctx: Ctx, db: sqlite3.Connection, req: OrderRequest) -> dict[str, str]:
    participant = _participant(ctx)
    book.check_clord_free(db, participant, req.clord_id)
    o = book.submit(db, req, firm_id=ctx.firm_id, participant=participant)
    return {"orderId": o["id"]}


def insert_order(ctx: Ctx) -> dict[str, Any]:
    req = _order_request(ctx, ctx.body())
    with ctx.env.store.write() as db:
        return _insert(ctx, db, req)


def insert_order_list(ctx: Ctx) -> dict[str, Any]:
    requests = _each(_requests(ctx.body()), lambda item: _order_request(ctx, item))
    with ctx.env.store.write() as db:
        return {"responses": _each(requests, lambda req: _insert(ctx, db, req))}


def preview_order(ctx: Ctx) -> dict[str, Any]:
    """What InsertOrder would do with the request now (fills, fees, state), with no effect."""
    body = ctx.body().get("request")
    if not isinstance(body, dict):
        raise invalid("request is required")
    req = _order_request(ctx, body)
    participant = _participant(ctx)
    with ctx.env.store.write() as db:
        book.check_clord_free(db, participant, req.clord_id)
        o = book.preview(db, req, firm_id=ctx.firm_id, participant=participant)
    preview = order_json(o, ctx.env.settings.emit_zero_enums)
    del preview["id"]  # a preview is no order: it has no id
    return {"previewOrder": preview}


def _cross_leg(ctx: Ctx, item: dict[str, Any]) -> OrderRequest:
    req = _order_request(ctx, item)
    if req.type is not OrderType.LIMIT:
        raise invalid("type: a cross is made of LIMIT orders")
    if req.order_qty is None or req.price is None:
        raise invalid("a cross trades an orderQty at a price (cashOrderQty is not supported)")
    return req


def insert_order_cross(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    cross_type = wire.text(body.get("cross_type"), "crossType")
    if cross_type not in CROSS_TYPES:
        raise invalid("crossType: only CROSS_TYPE_ALL_OR_NONE")
    items = _requests(body, most=2)
    if len(items) != 2:
        raise invalid("requests: a cross is exactly two orders, one BUY and one SELL")
    first, second = _each(items, lambda item: _cross_leg(ctx, item))
    if first.side is second.side:
        raise invalid("requests: a cross is one BUY and one SELL")
    for name in ("symbol", "price", "order_qty"):
        if getattr(first, name) != getattr(second, name):
            field = {"order_qty": "orderQty"}.get(name, name)
            raise invalid(f"requests[1].{field} must equal requests[0].{field}")
    if first.clord_id == second.clord_id:
        raise invalid("requests[1].clordId must differ from requests[0].clordId")
    prioritized = parse_enum(
        Side, body.get("cross_prioritized_side"), "crossPrioritizedSide", Side.BUY
    )
    cross_id = parse_clord(body.get("cross_id")) or wire.exchange_id()
    passive, aggressor = (first, second) if first.side is prioritized else (second, first)
    participant = _participant(ctx)
    with ctx.env.store.write() as db:
        _each([first, second], lambda req: book.check_clord_free(db, participant, req.clord_id))
        maker, taker = book.cross(
            db,
            passive,
            aggressor,
            firm_id=ctx.firm_id,
            participant=participant,
            cross_id=cross_id,
        )
    ids = {maker["clord_id"]: maker["id"], taker["clord_id"]: taker["id"]}
    return {"responses": [{"orderId": ids[req.clord_id]} for req in (first, second)]}


def _find_order(ctx: Ctx, db: sqlite3.Connection, body: dict[str, Any]) -> dict[str, Any]:
    """The participant's order named by orderId, else by clordId (the live one, else the latest);
    a `symbol`, when given, must be the order's."""
    order_id = wire.text(body.get("order_id"), "orderId").strip()
    clord_id = wire.text(body.get("clord_id"), "clordId").strip()
    symbol = wire.text(body.get("symbol"), "symbol").strip()
    if not order_id and not clord_id:
        raise invalid("orderId or clordId is required")
    accounts = ctx.participant_accounts()
    if not accounts:
        raise not_found("order not found")
    marks = ",".join("?" * len(accounts))
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
    return o


def _cancel(ctx: Ctx, db: sqlite3.Connection, body: dict[str, Any]) -> dict[str, Any]:
    o = _find_order(ctx, db, body)
    book.require_live(o, "canceled")
    book.cancel(db, o, wire.ts())
    return {}


def _replacement(body: dict[str, Any], clord_id: str) -> book.Replacement:
    price = wire.int64(body.get("price"), "price", default=0)
    qty = wire.int64(body.get("order_qty"), "orderQty", default=0)
    if price < 0:
        raise invalid("price must be positive")
    if qty < 0:
        raise invalid("orderQty must be positive")
    tif = parse_enum(TimeInForce, body.get("time_in_force"), "timeInForce", None)
    good_till = ""
    if body.get("good_till_time"):
        good_till = parse_good_till(TimeInForce.GOOD_TILL_TIME, body.get("good_till_time"))
    return book.Replacement(
        price=price or None,
        order_qty=qty or None,
        time_in_force=tif,
        good_till_time=good_till,
        clord_id=clord_id,
        manual_order_indicator=wire.text(
            body.get("manual_order_indicator"), "manualOrderIndicator"
        ),
    )


def _replace(ctx: Ctx, db: sqlite3.Connection, body: dict[str, Any]) -> dict[str, Any]:
    """With orderId, a clordId is the order's new one (FIX style); without, it names the order."""
    if body.get("order_id"):
        new = _replacement(body, clord_id=parse_clord(body.get("clord_id")))
        o = _find_order(ctx, db, {**body, "clord_id": ""})
    else:
        new = _replacement(body, clord_id="")
        o = _find_order(ctx, db, body)
    book.replace(db, o, new)
    return {}


Apply = Callable[[Ctx, sqlite3.Connection, dict[str, Any]], dict[str, Any]]


def _one_and_list(apply: Apply) -> tuple[Callable[[Ctx], Any], Callable[[Ctx], Any]]:
    """The handlers of an operation and of its list form (`{"requests": [...]}`, answered by
    `{"responses": [...]}`), each in one transaction."""

    def one(ctx: Ctx) -> dict[str, Any]:
        body = ctx.body()
        with ctx.env.store.write() as db:
            return apply(ctx, db, body)

    def many(ctx: Ctx) -> dict[str, Any]:
        requests = _requests(ctx.body())
        with ctx.env.store.write() as db:
            return {"responses": _each(requests, lambda item: apply(ctx, db, item))}

    return one, many


cancel_order, cancel_order_list = _one_and_list(_cancel)
replace_order, replace_order_list = _one_and_list(_replace)


def open_orders(ctx: Ctx) -> dict[str, Any]:
    accounts = ctx.scoped_accounts(ctx.query_list("accounts"), "accounts")
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


def _route(path: str, handler: Any, limit: str | None, scope: str = "write:orders") -> Route:
    return Route(
        path, ("POST",), handler, scope=scope, pid=PID_REQUIRED, family="orders", limit=limit
    )


ROUTES = [
    _route("/v1/trading/orders", insert_order, "insert_order"),
    _route("/v1/trading/orders/list", insert_order_list, "order_list"),
    _route("/v1/trading/orders/cross", insert_order_cross, "insert_order"),
    _route("/v1/trading/orders/preview", preview_order, None, scope="read:orders"),
    _route("/v1/trading/orders/cancel", cancel_order, "cancel_order"),
    _route("/v1/trading/orders/cancel/list", cancel_order_list, "order_list"),
    _route("/v1/trading/orders/replace", replace_order, "replace_order"),
    _route("/v1/trading/orders/replace/list", replace_order_list, "order_list"),
    Route(
        "/v1/trading/orders/open",
        ("GET",),
        open_orders,
        scope="read:orders",
        pid=PID_REQUIRED,
        family="orders",
    ),
]
