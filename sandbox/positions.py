"""Balances, positions and ledgers (API.md 5.3.3, 5.4); scope read:positions, x-participant-id."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from typing import Any

from sandbox import ledger, risk, wire
from sandbox.errors import ApiError, Code, invalid
from sandbox.routing import PID_REQUIRED, Ctx, Route

LEDGER_FLOOR = "2026-05-01T00:00:00.000Z"


def _balance_json(db: sqlite3.Connection, account: str, currency: str) -> dict[str, Any]:
    figures = risk.summary(db, account)
    cash, reserved = figures.balance, figures.open_orders
    row = db.execute(
        "SELECT update_time FROM balances WHERE account = ? AND currency = ?", (account, currency)
    ).fetchone()
    securities: dict[str, Any] = {}
    for p in db.execute(
        "SELECT p.symbol, p.net_position, p.cost, i.price_scale, i.frac_scale FROM positions p "
        "JOIN instruments i ON i.symbol = p.symbol WHERE p.account = ? AND p.net_position != 0",
        (account,),
    ).fetchall():
        notional = Decimal(p["cost"]) / (p["price_scale"] * p["frac_scale"])
        securities[p["symbol"]] = {
            "balance": format(Decimal(p["net_position"]) / p["frac_scale"], "f"),
            "marketValue": wire.fmt_money(notional),
            "haircut": "0",
            "notionalValue": wire.fmt_money(notional),
            "availableValue": wire.fmt_money(notional),
        }
    total = sum((Decimal(s["notionalValue"]) for s in securities.values()), Decimal(0))
    return {
        "balance": wire.fmt_money(cash),
        "capitalRequirement": "0.00",
        "excessCapital": wire.fmt_money(cash),
        "buyingPower": wire.fmt_money(figures.buying_power),
        "securities": securities,
        "totalSecurityNotionalValue": wire.fmt_money(total),
        "totalSecurityAvailableValue": wire.fmt_money(total),
        "openOrders": wire.fmt_money(reserved),
        "alternateCapitalRequirementCurrency": "",
        "alternateCapitalRequirement": "0.00",
        "unsettledFunds": "0.00",
        "marginRequirement": "0.00",
        "updateTime": row["update_time"] if row else wire.ts(),
    }


def balance(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    account = ctx.own_account(wire.text(body.get("name"), "name").strip(), "name")
    currency = (wire.text(body.get("currency"), "currency") or "USD").upper()
    if currency != "USD":
        raise invalid("currency: only USD is supported")
    return _balance_json(ctx.db, account, currency)


def balances(ctx: Ctx) -> dict[str, Any]:
    account = ctx.own_account(wire.text(ctx.body().get("name"), "name").strip(), "name")
    return {"balances": {"USD": _balance_json(ctx.db, account, "USD")}}


def _time_bounds(ctx: Ctx, column: str) -> tuple[str, list[Any]]:
    sql, params = "", []
    start = ctx.query("start_time")
    start_ts = wire.ts(wire.parse_ts(start, "startTime")) if start else LEDGER_FLOOR
    sql += f" AND {column} >= ?"
    params.append(max(start_ts, LEDGER_FLOOR))
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


def balance_ledger(ctx: Ctx) -> dict[str, Any]:
    account = _ledger_account(ctx)
    size, offset, newest = _page(ctx)
    sql = "SELECT * FROM balance_ledger WHERE account = ?"
    params: list[Any] = [account]
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
    sql += f" ORDER BY seq {'DESC' if newest else 'ASC'} LIMIT ? OFFSET ?"
    rows = ctx.db.execute(sql, [*params, size + 1, offset]).fetchall()
    more = len(rows) > size
    return {
        "entries": [ledger.entry_json(r) for r in rows[:size]],
        "nextPageToken": wire.page_token(offset + size) if more else "",
        "eof": not more,
    }


def position_json(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "account": row["account"],
        "symbol": row["symbol"],
        "netPosition": str(row["net_position"]),
        "qtyBought": str(row["qty_bought"]),
        "qtySold": str(row["qty_sold"]),
        "cost": str(row["cost"]),
        "realized": str(row["realized"]),
        "bodPosition": str(row["bod_position"]),
        "expired": bool(row["expired"]),
        "updateTime": row["update_time"],
    }


def positions(ctx: Ctx) -> dict[str, Any]:
    account = ctx.own_account((ctx.query("name") or "").strip(), "name")
    size = wire.page_size(ctx.query("page_size"), default=100, maximum=1000)
    offset = wire.page_offset(ctx.query("page_token"))
    if ctx.query("as_of_time") and ctx.query("as_of_date.year"):
        raise invalid("asOfTime and asOfDate are mutually exclusive")
    sql, params = "SELECT * FROM positions WHERE account = ?", [account]
    symbol = ctx.query("symbol")
    if symbol:
        sql += " AND symbol = ?"
        params.append(symbol)
    if wire.boolean(ctx.query("active_only"), "activeOnly"):
        sql += " AND expired = 0"
    if wire.boolean(ctx.query("non_zero_only"), "nonZeroOnly"):
        sql += " AND net_position != 0"
    rows = ctx.db.execute(
        sql + " ORDER BY symbol LIMIT ? OFFSET ?", [*params, size + 1, offset]
    ).fetchall()
    more = len(rows) > size
    page = rows[:size]
    return {
        "positions": [position_json(r) for r in page],
        "availablePosition": [str(r["net_position"]) for r in page],
        "nextPageToken": wire.page_token(offset + size) if more else "",
        "eof": not more,
    }


def position_ledger(ctx: Ctx) -> dict[str, Any]:
    account = ctx.own_account((ctx.query("account") or "").strip(), "account")
    size, offset, newest = _page(ctx)
    sql, params = "SELECT * FROM position_ledger WHERE account = ?", [account]
    symbol = ctx.query("symbol")
    if symbol:
        sql += " AND symbol = ?"
        params.append(symbol)
    bounds, extra = _time_bounds(ctx, "update_time")
    sql += bounds + f" ORDER BY seq {'DESC' if newest else 'ASC'} LIMIT ? OFFSET ?"
    rows = ctx.db.execute(sql, [*params, *extra, size + 1, offset]).fetchall()
    more = len(rows) > size
    return {
        "entries": [
            {
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
            for r in rows[:size]
        ],
        "nextPageToken": wire.page_token(offset + size) if more else "",
        "eof": not more,
    }


def _route(path: str, method: str, handler: Any, family: str, limit: str | None = None) -> Route:
    return Route(
        path,
        (method,),
        handler,
        scope="read:positions",
        pid=PID_REQUIRED,
        family=family,
        limit=limit,
    )


ROUTES = [
    _route("/v1/positions/balance", "POST", balance, "positions"),
    _route("/v1/positions/balances", "POST", balances, "positions"),
    _route("/v1/positions", "GET", positions, "positions"),
    _route("/v1/positions/ledger", "GET", position_ledger, "ledger", "ledger"),
    _route("/v1/funding/balance-ledger", "GET", balance_ledger, "ledger", "ledger"),
]
