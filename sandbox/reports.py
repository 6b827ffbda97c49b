"""Report searches (API.md 5.6): orders, executions, trades, scoped to the participant's accounts."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from sandbox import wire
from sandbox.errors import invalid, not_found
from sandbox.messages import execution_json, order_json, trade_json
from sandbox.routing import PID_REQUIRED, Ctx, Route

STATE_FILTERS = {
    "ORDER_STATE_FILTER_OPEN": ("NEW", "PARTIALLY_FILLED", "PENDING_NEW"),
    "ORDER_STATE_FILTER_CLOSED": ("FILLED", "CANCELED", "REPLACED", "REJECTED", "EXPIRED"),
}


def report_accounts(ctx: Ctx, body: dict[str, Any]) -> list[str]:
    """The accounts a report covers (`accounts` narrows them; see `Ctx.scoped_accounts`)."""
    wanted = body.get("accounts") or []
    if not isinstance(wanted, list):
        raise invalid("accounts must be a list")
    return ctx.scoped_accounts([wire.text(a, "accounts") for a in wanted], "accounts")


def _page(body: dict[str, Any]) -> tuple[int, int]:
    size = wire.page_size(body.get("page_size"), default=100, maximum=1000)
    return size, wire.page_offset(body.get("page_token"))


def _in(column: str, values: list[str]) -> str:
    return f" AND {column} IN ({','.join('?' * len(values))})"


def time_filter(body: dict[str, Any], column: str) -> tuple[str, list[Any]]:
    sql, params = "", []
    if body.get("start_time"):
        sql += f" AND {column} >= ?"
        params.append(wire.ts(wire.parse_ts(str(body["start_time"]), "startTime")))
    if body.get("end_time"):
        sql += f" AND {column} <= ?"
        params.append(wire.ts(wire.parse_ts(str(body["end_time"]), "endTime")))
    return sql, params


def search_orders(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    accounts = report_accounts(ctx, body)
    size, offset = _page(body)
    if not accounts:
        return {"order": [], "nextPageToken": "", "lastExecutions": []}
    # Only placeholders are formatted into the SQL; every value is a bound parameter.
    sql = "SELECT * FROM orders WHERE 1 = 1" + _in("account", accounts)  # noqa: S608
    params: list[Any] = list(accounts)
    for field, column in (("order_id", "id"), ("clord_id", "clord_id"), ("symbol", "symbol")):
        if body.get(field):
            sql += f" AND {column} = ?"
            params.append(str(body[field]))
    if body.get("side"):
        sql += " AND side = ?"
        params.append(str(body["side"]).removeprefix("SIDE_"))
    if body.get("type"):
        sql += " AND type = ?"
        params.append(str(body["type"]).removeprefix("ORDER_TYPE_"))
    state_filter = str(body.get("order_state_filter") or "")
    if state_filter:
        states = STATE_FILTERS.get(state_filter) or (
            state_filter.removeprefix("ORDER_STATE_FILTER_"),
        )
        sql += _in("state", list(states))
        params.extend(states)
    time_sql, time_params = time_filter(body, "insert_time")
    sql += time_sql + " ORDER BY seq LIMIT ? OFFSET ?"
    rows = ctx.db.execute(sql, [*params, *time_params, size + 1, offset]).fetchall()
    more = len(rows) > size
    page = rows[:size]
    emit = ctx.env.settings.emit_zero_enums
    result: dict[str, Any] = {
        "order": [order_json(r, emit) for r in page],
        "nextPageToken": wire.page_token(offset + size) if more else "",
    }
    if wire.boolean(body.get("with_last_execution"), "withLastExecution"):
        last: list[dict[str, Any]] = []
        for r in page:
            e = ctx.db.execute(
                "SELECT * FROM executions WHERE order_id = ? ORDER BY seq DESC LIMIT 1", (r["id"],)
            ).fetchone()
            if e is not None:
                last.append(execution_json(e, emit))
        result["lastExecutions"] = last
    return result


def search_executions(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    accounts = report_accounts(ctx, body)
    size, offset = _page(body)
    if not accounts:
        return {"executions": [], "nextPageToken": "", "eof": True}
    sql = "SELECT * FROM executions WHERE 1 = 1" + _in("account", accounts)  # noqa: S608
    params: list[Any] = list(accounts)
    for field, column in (("order_id", "order_id"), ("symbol", "symbol")):
        if body.get(field):
            sql += f" AND {column} = ?"
            params.append(str(body[field]))
    if body.get("clord_id"):
        sql += " AND order_id IN (SELECT id FROM orders WHERE clord_id = ?)"
        params.append(str(body["clord_id"]))
    types = [str(t).removeprefix("EXECUTION_TYPE_") for t in body.get("types") or []]
    if types:
        sql += _in("type", types)
        params.extend(types)
    ids = [str(i) for i in body.get("exec_ids") or []]
    if ids:
        sql += _in("id", ids)
        params.extend(ids)
    time_sql, time_params = time_filter(body, "transact_time")
    newest = wire.boolean(body.get("newest_first"), "newestFirst")
    sql += time_sql + f" ORDER BY seq {'DESC' if newest else 'ASC'} LIMIT ? OFFSET ?"
    rows = ctx.db.execute(sql, [*params, *time_params, size + 1, offset]).fetchall()
    more = len(rows) > size
    emit = ctx.env.settings.emit_zero_enums
    return {
        "executions": [execution_json(r, emit) for r in rows[:size]],
        "nextPageToken": wire.page_token(offset + size) if more else "",
        "eof": not more,
    }


def search_trades(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    accounts = report_accounts(ctx, body)
    size, offset = _page(body)
    if not accounts:
        return {"trade": [], "nextPageToken": ""}
    marks = ",".join("?" * len(accounts))
    sql = f"SELECT * FROM trades WHERE (aggressor_account IN ({marks}) OR passive_account IN ({marks}))"  # noqa: S608
    params: list[Any] = [*accounts, *accounts]
    if body.get("trade_id"):
        sql += " AND id = ?"
        params.append(str(body["trade_id"]))
    if body.get("symbol"):
        sql += " AND symbol = ?"
        params.append(str(body["symbol"]))
    if body.get("order_id"):
        sql += " AND (aggressor_exec IN (SELECT id FROM executions WHERE order_id = ?) OR "
        sql += "passive_exec IN (SELECT id FROM executions WHERE order_id = ?))"
        params += [str(body["order_id"])] * 2
    if body.get("exec_id"):
        sql += " AND (aggressor_exec = ? OR passive_exec = ?)"
        params += [str(body["exec_id"])] * 2
    states = [str(s).removeprefix("TRADE_STATE_") for s in body.get("states") or []]
    if states:
        sql += _in("state", states)
        params.extend(states)
    time_sql, time_params = time_filter(body, "created_at")
    sql += time_sql + " ORDER BY seq LIMIT ? OFFSET ?"
    rows = ctx.db.execute(sql, [*params, *time_params, size + 1, offset]).fetchall()
    more = len(rows) > size
    emit = ctx.env.settings.emit_zero_enums
    return {
        "trade": [trade_json(ctx.db, r, emit) for r in rows[:size]],
        "nextPageToken": wire.page_token(offset + size) if more else "",
    }


def _participant_row(ctx: Ctx, table: str, row_id: str) -> sqlite3.Row:
    accounts = ctx.participant_accounts()
    row = ctx.db.execute(
        f"SELECT * FROM {table} WHERE id = ? AND account IN (SELECT value FROM json_each(?))",  # noqa: S608
        (row_id, json.dumps(accounts)),
    ).fetchone()
    if row is None:
        raise not_found(f"{table[:-1]} not found")
    return row


def get_order(ctx: Ctx) -> dict[str, Any]:
    """GetOrder: one of the participant's orders by id (API.md 5.6; not in the OpenAPI files)."""
    row = _participant_row(ctx, "orders", ctx.args["order_id"])
    return {"order": order_json(row, ctx.env.settings.emit_zero_enums)}


def get_execution(ctx: Ctx) -> dict[str, Any]:
    """GetExecution: one of the participant's executions by id."""
    row = _participant_row(ctx, "executions", ctx.args["exec_id"])
    return {"execution": execution_json(row, ctx.env.settings.emit_zero_enums)}


def report_route(path: str, handler: Any, method: str = "POST", pid: str = PID_REQUIRED) -> Route:
    """A ReportAPI route: scope read:reports, the reports rate limit (12 a minute per firm)."""
    return Route(
        path, (method,), handler, scope="read:reports", pid=pid, family="reports", limit="reports"
    )


ROUTES = [
    report_route("/v1/report/orders/search", search_orders),
    report_route("/v1/report/executions/search", search_executions),
    report_route("/v1/report/trades/search", search_trades),
    report_route("/v1/report/orders/<order_id>", get_order, "GET"),
    report_route("/v1/report/executions/<exec_id>", get_execution, "GET"),
]
