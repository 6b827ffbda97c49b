"""Balances and positions (API.md 5.4); scope read:positions, x-participant-id.

Positions now come from the positions table; positions at a point in time (`asOfTime`, or the end
of a trade date, `asOfDate`) from the position ledger, whose every entry carries the whole
position after its change. `bodPosition` is the net position at the start of the trade date.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sandbox import risk, wire
from sandbox.errors import invalid
from sandbox.routing import PID_REQUIRED, Ctx, Route


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


@dataclass(frozen=True)
class AsOf:
    """A point in the past for position reads: a moment, or the end of a trade date."""

    moment: str = ""  # RFC 3339: every change up to and including it
    trade_date: date | None = None  # every change booked on or before that trade date

    @property
    def business_date(self) -> date:
        """The trade date the point falls in (its start gives bodPosition)."""
        if self.trade_date is not None:
            return self.trade_date
        return wire.business_date(wire.parse_ts(self.moment, "asOfTime"))

    @property
    def time(self) -> str:
        if self.trade_date is not None:
            return wire.ts(wire.trade_date_end(self.trade_date))
        return self.moment


def as_of(moment: Any, day: Any) -> AsOf | None:
    """`asOfTime` or `asOfDate` (a v1Date), at most one of them; None: now."""
    if moment and day:
        raise invalid("asOfTime and asOfDate are mutually exclusive")
    if moment:
        return AsOf(moment=wire.ts(wire.parse_ts(wire.text(moment, "asOfTime"), "asOfTime")))
    if day:
        return AsOf(trade_date=wire.parse_v1_date(day, "asOfDate"))
    return None


def query_as_of(ctx: Ctx) -> AsOf | None:
    """The point in time of a GET: `asOfTime`, or `asOfDate.year`, `.month` and `.day`."""
    parts = {part: ctx.query(f"as_of_date.{part}") for part in ("year", "month", "day")}
    day = {k: v for k, v in parts.items() if v} or None
    if day is not None and len(day) < 3:
        raise invalid("asOfDate needs year, month and day")
    return as_of(ctx.query("as_of_time"), day)


POSITION_FIELDS = (
    "account, symbol, net_position, qty_bought, qty_sold, cost, realized, expired, update_time"
)


def holdings(
    db: sqlite3.Connection, accounts: list[str], point: AsOf | None, symbol: str = ""
) -> list[dict[str, Any]]:
    """The accounts' positions, now or at `point`, by account then symbol, with bod_position."""
    scope = "account IN (SELECT value FROM json_each(?))"
    params: list[Any] = [json.dumps(accounts)]
    if symbol:
        scope += " AND symbol = ?"
        params.append(symbol)
    if point is None:
        sql = f"SELECT {POSITION_FIELDS} FROM positions WHERE {scope}"  # noqa: S608 - fixed names
        rows = db.execute(sql, params).fetchall()
        today = wire.business_date()
    elif point.trade_date is not None:
        rows = _ledger_as_of(
            db, scope + " AND business_date <= ?", [*params, str(point.trade_date)]
        )
        today = point.trade_date
    else:
        rows = _ledger_as_of(db, scope + " AND update_time <= ?", [*params, point.moment])
        today = point.business_date
    bod = {
        (r["account"], r["symbol"]): r["net_position"]
        for r in _ledger_as_of(db, scope + " AND business_date < ?", [*params, str(today)])
    }
    found = [dict(r) | {"bod_position": bod.get((r["account"], r["symbol"]), 0)} for r in rows]
    return sorted(found, key=lambda p: (p["account"], p["symbol"]))


def _ledger_as_of(db: sqlite3.Connection, where: str, params: list[Any]) -> list[sqlite3.Row]:
    """The last position-ledger entry of each (account, symbol) among those `where` selects."""
    return db.execute(
        f"SELECT {POSITION_FIELDS} FROM position_ledger WHERE seq IN "  # noqa: S608 - fixed names
        f"(SELECT MAX(seq) FROM position_ledger WHERE {where} GROUP BY account, symbol)",
        params,
    ).fetchall()


def position_json(p: dict[str, Any] | sqlite3.Row) -> dict[str, Any]:
    return {
        "account": p["account"],
        "symbol": p["symbol"],
        "netPosition": str(p["net_position"]),
        "qtyBought": str(p["qty_bought"]),
        "qtySold": str(p["qty_sold"]),
        "cost": str(p["cost"]),
        "realized": str(p["realized"]),
        "bodPosition": str(p["bod_position"]),
        "expired": bool(p["expired"]),
        "updateTime": p["update_time"],
    }


def positions(ctx: Ctx) -> dict[str, Any]:
    account = ctx.own_account((ctx.query("name") or "").strip(), "name")
    size = wire.page_size(ctx.query("page_size"), default=100, maximum=1000)
    offset = wire.page_offset(ctx.query("page_token"))
    point = query_as_of(ctx)
    found = holdings(ctx.db, [account], point, (ctx.query("symbol") or "").strip())
    # activeOnly applies to current positions only; nonZeroOnly to historical ones too (schema).
    if point is None and wire.boolean(ctx.query("active_only"), "activeOnly"):
        found = [p for p in found if not p["expired"]]
    if wire.boolean(ctx.query("non_zero_only"), "nonZeroOnly"):
        found = [p for p in found if p["net_position"] != 0]
    page = found[offset : offset + size]
    more = len(found) > offset + size
    return {
        "positions": [position_json(p) for p in page],
        "availablePosition": [str(p["net_position"]) for p in page],
        "nextPageToken": wire.page_token(offset + size) if more else "",
        "eof": not more,
    }


def _route(path: str, method: str, handler: Any) -> Route:
    return Route(
        path, (method,), handler, scope="read:positions", pid=PID_REQUIRED, family="positions"
    )


ROUTES = [
    _route("/v1/positions/balance", "POST", balance),
    _route("/v1/positions/balances", "POST", balances),
    _route("/v1/positions", "GET", positions),
]
