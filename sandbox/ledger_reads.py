"""The balance ledger (API.md 5.3.3) and the position ledger (5.4) over REST: pages and downloads.

Scope read:positions, x-participant-id. A download takes the same filters as the page read and
streams the whole filtered ledger as CSV (`{"result": {"data": ...}}`, sandbox.downloads); its
page parameters are checked as the read checks them, but a file is never cut into pages.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from werkzeug.wrappers import Response

from sandbox import downloads, ledger, wire
from sandbox.errors import ApiError, Code, invalid
from sandbox.routing import PID_REQUIRED, Ctx, Route


def _time_bounds(ctx: Ctx, column: str) -> tuple[str, list[Any]]:
    sql, params = "", []
    start = ctx.query("start_time")
    start_ts = wire.ts(wire.parse_ts(start, "startTime")) if start else ledger.FLOOR
    sql += f" AND {column} >= ?"
    params.append(max(start_ts, ledger.FLOOR))
    end = ctx.query("end_time")
    if end:
        sql += f" AND {column} <= ?"
        params.append(wire.ts(wire.parse_ts(end, "endTime")))
    return sql, params


def _page(ctx: Ctx) -> tuple[int, int, bool]:
    size = wire.page_size(ctx.query("page_size"), default=100, maximum=1000)
    offset = wire.page_offset(ctx.query("page_token"))
    newest = wire.boolean(ctx.query("newest_first"), "newestFirst")
    return size, offset, newest


def _ledger_account(ctx: Ctx) -> str:
    account = (ctx.query("account") or "").strip()
    if not account:
        raise invalid("account is required")
    firm = ctx.db.execute(
        "SELECT funding_account FROM firms WHERE firm_id = ?", (ctx.firm_id,)
    ).fetchone()
    if account == firm["funding_account"]:
        return account  # the firm's own pool: readable with any of its participants
    return ctx.own_account(account, "account")


def _balance_select(ctx: Ctx) -> tuple[str, list[Any]]:
    """The balance-ledger rows the query asks for (a SELECT, unordered)."""
    sql = "SELECT * FROM balance_ledger WHERE account = ?"
    params: list[Any] = [_ledger_account(ctx)]
    currency = ctx.query("currency")
    if currency:
        sql += " AND currency = ?"
        params.append(currency.upper())
    bounds, extra = _time_bounds(ctx, "update_time")
    sql += bounds
    params += extra
    types = [ledger.parse_entry_type(t) for t in ctx.query_list("entry_types")]
    for entry_type in types:
        if entry_type in ledger.SUPPRESSED_TYPES:
            raise ApiError(Code.ABORTED, f"entry type {entry_type} is not available")
        if entry_type not in ledger.ALLOWED_TYPES:
            raise invalid(f"entryTypes: unknown type {entry_type}")
    if types:
        sql += f" AND entry_type IN ({','.join('?' * len(types))})"
        params += types
    symbol = ctx.query("symbol")
    if symbol:
        sql += " AND symbol = ?"
        params.append(symbol)
    description = ctx.query("description")
    if description:
        if len(description) > 200:
            raise invalid("description: at most 200 characters")
        sql += " AND instr(description, ?) > 0"
        params.append(description)
    return sql, params


def _position_select(ctx: Ctx) -> tuple[str, list[Any]]:
    account = ctx.own_account((ctx.query("account") or "").strip(), "account")
    sql, params = "SELECT * FROM position_ledger WHERE account = ?", [account]
    symbol = ctx.query("symbol")
    if symbol:
        sql += " AND symbol = ?"
        params.append(symbol)
    bounds, extra = _time_bounds(ctx, "update_time")
    return sql + bounds, [*params, *extra]


def position_entry_json(r: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": r["id"],
        "account": r["account"],
        "symbol": r["symbol"],
        "quantityChange": str(r["quantity_change"]),
        "costChange": str(r["cost_change"]),
        "realizedChange": str(r["realized_change"]),
        "netPosition": str(r["net_position"]),
        "cost": str(r["cost"]),
        "realized": str(r["realized"]),
        "updateTime": r["update_time"],
        "updateBusinessDate": r["business_date"],
        "description": r["description"],
    }


def _read(ctx: Ctx, select: tuple[str, list[Any]], entry: Any) -> dict[str, Any]:
    sql, params = select
    size, offset, newest = _page(ctx)
    sql += f" ORDER BY seq {'DESC' if newest else 'ASC'} LIMIT ? OFFSET ?"
    rows = ctx.db.execute(sql, [*params, size + 1, offset]).fetchall()
    more = len(rows) > size
    return {
        "entries": [entry(r) for r in rows[:size]],
        "nextPageToken": wire.page_token(offset + size) if more else "",
        "eof": not more,
    }


def _download(
    ctx: Ctx, table: str, select: tuple[str, list[Any]], entry: Any, columns: Sequence[str]
) -> Response:
    sql, params = select
    _, _, newest = _page(ctx)
    keys = [wire.camel(column) for column in columns]

    def row(r: sqlite3.Row) -> list[object]:
        data = entry(r)
        return [data[key] for key in keys]

    rows = downloads.pages(ctx.db, table, sql, params, row, newest_first=newest)
    return downloads.csv_response(downloads.BYTES, columns, rows)


BALANCE_COLUMNS = (
    "id",
    "account",
    "currency",
    "before_balance",
    "after_balance",
    "description",
    "update_time",
    "modified_security_id",
    "entry_type",
    "symbol",
    "update_business_date",
)
POSITION_COLUMNS = (
    "id",
    "account",
    "symbol",
    "quantity_change",
    "cost_change",
    "realized_change",
    "net_position",
    "cost",
    "realized",
    "update_time",
    "update_business_date",
    "description",
)


def balance_ledger(ctx: Ctx) -> dict[str, Any]:
    return _read(ctx, _balance_select(ctx), ledger.entry_json)


def balance_ledger_download(ctx: Ctx) -> Response:
    return _download(
        ctx, "balance_ledger", _balance_select(ctx), ledger.entry_json, BALANCE_COLUMNS
    )


def position_ledger(ctx: Ctx) -> dict[str, Any]:
    return _read(ctx, _position_select(ctx), position_entry_json)


def position_ledger_download(ctx: Ctx) -> Response:
    return _download(
        ctx, "position_ledger", _position_select(ctx), position_entry_json, POSITION_COLUMNS
    )


def _route(path: str, handler: Any, limit: str) -> Route:
    return Route(
        path,
        ("GET",),
        handler,
        scope="read:positions",
        pid=PID_REQUIRED,
        family="ledger",
        limit=limit,
    )


ROUTES = [
    _route("/v1/funding/balance-ledger", balance_ledger, "ledger"),
    _route("/v1/funding/balance-ledger/download", balance_ledger_download, "ledger_download"),
    _route("/v1/positions/ledger", position_ledger, "ledger"),
    _route("/v1/positions/ledger/download", position_ledger_download, "ledger_download"),
]
