"""Valuations (API.md 5.4 "Valuations", ValuationAPI, scope read:positions): positions marked to a
price, now or at a point in time, for one account or, in a statement, for many at once; and the
legacy account summaries (one, a batch, a download) over the same figures.

The docs name the fields but not their units; the sandbox's choices:

* a position's `netPosition`, `cost`, `realized`, `markPrice`, `marketValue` and `unrealizedPnl`
  are int64 strings in the instrument's units, as `/v1/positions` gives them: `marketValue` is
  `netPosition x markPrice` and `unrealizedPnl` is `marketValue - cost` (notional units);
* a summary is in dollars (decimal strings), since it adds up instruments of different scales; it
  covers every position of the account, closed ones too (their realized P&L), and `positionCount`
  counts the open ones;
* the mark of a settled instrument is its settlement price (`priceSource` SETTLEMENT); otherwise
  MARK_PRICE_TYPE_LAST (the default) is the last cleared trade's price (LAST_TRADE),
  MARK_PRICE_TYPE_VWAP the volume-weighted price of the trade date's cleared trades so far (VWAP),
  MARK_PRICE_TYPE_MID the middle of the best bid and offer (MID), which only the present has, so
  a past point falls back to LAST_TRADE, as VWAP does on a day without trades; with no trade at
  all a position is marked at its own average cost (COST, no unrealized P&L).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from werkzeug.wrappers import Response

from sandbox import downloads, instruments, wire
from sandbox.engine.fixedpoint import InstrumentSpec, round_half_even_div
from sandbox.errors import ApiError, invalid
from sandbox.positions import AsOf, as_of, holdings, query_as_of
from sandbox.routing import PID_OPTIONAL, PID_REQUIRED, Ctx, Route

MARK_TYPES = ("MARK_PRICE_TYPE_LAST", "MARK_PRICE_TYPE_VWAP", "MARK_PRICE_TYPE_MID")
POSITION_COLUMNS = (
    "account",
    "symbol",
    "net_position",
    "cost",
    "realized",
    "mark_price",
    "mark_price_type",
    "market_value",
    "unrealized_pnl",
    "valuation_time",
    "price_source",
)
STATEMENT_COLUMNS = (
    "account",
    "currency",
    "total_cost",
    "total_market_value",
    "total_unrealized_pnl",
    "total_realized_pnl",
    "position_count",
    "valuation_time",
    "mark_price_type",
    "price_source",
)


def mark_type(value: Any) -> str:
    name = wire.text(value, "markPriceType").strip().upper()
    if not name:
        return MARK_TYPES[0]
    name = name if name.startswith("MARK_PRICE_TYPE_") else "MARK_PRICE_TYPE_" + name
    if name not in MARK_TYPES:
        raise invalid(f"markPriceType must be one of {', '.join(MARK_TYPES)}")
    return name


@dataclass(frozen=True)
class Mark:
    price: int
    source: str


class Marks:
    """The mark of each symbol at one point, looked up once per request."""

    def __init__(self, db: sqlite3.Connection, kind: str, point: AsOf | None) -> None:
        self.db = db
        self.kind = kind
        self.point = point
        self.time = point.time if point is not None else wire.ts()
        self._marks: dict[str, Mark | None] = {}
        self._specs: dict[str, InstrumentSpec] = {}

    def spec(self, symbol: str) -> InstrumentSpec:
        if symbol not in self._specs:
            self._specs[symbol] = instruments.instrument_spec(self.db, symbol)
        return self._specs[symbol]

    def of(self, position: dict[str, Any]) -> Mark:
        symbol = position["symbol"]
        if symbol not in self._marks:
            self._marks[symbol] = self._market(symbol)
        mark = self._marks[symbol]
        if mark is not None:
            return mark
        net = position["net_position"]
        return Mark(round_half_even_div(position["cost"], net) if net else 0, "COST")

    def _market(self, symbol: str) -> Mark | None:
        row = instruments.instrument_row(self.db, symbol)
        if row["settlement_px"] is not None and row["settlement_time"] <= self.time:
            return Mark(row["settlement_px"], "SETTLEMENT")
        if self.kind == "MARK_PRICE_TYPE_MID" and self.point is None:
            mid = self._mid(symbol)
            if mid is not None:
                return Mark(mid, "MID")
        if self.kind == "MARK_PRICE_TYPE_VWAP":
            vwap = self._vwap(symbol)
            if vwap is not None:
                return Mark(vwap, "VWAP")
        last = self.db.execute(
            "SELECT price FROM trades WHERE symbol = ? AND state = 'CLEARED' AND created_at <= ? "
            "ORDER BY seq DESC LIMIT 1",
            (symbol, self.time),
        ).fetchone()
        return Mark(last["price"], "LAST_TRADE") if last is not None else None

    def _mid(self, symbol: str) -> int | None:
        best = self.db.execute(
            "SELECT MAX(CASE WHEN side = 'BUY' THEN price END) AS bid, "
            "MIN(CASE WHEN side = 'SELL' THEN price END) AS offer FROM orders "
            "WHERE symbol = ? AND state IN ('NEW', 'PARTIALLY_FILLED') AND leaves_qty > 0",
            (symbol,),
        ).fetchone()
        if best["bid"] is None or best["offer"] is None:
            return None
        return int((best["bid"] + best["offer"]) // 2)

    def _vwap(self, symbol: str) -> int | None:
        moment = wire.parse_ts(self.time, "valuationTime")
        day_start = wire.trade_date_end(wire.business_date(moment) - timedelta(days=1))
        row = self.db.execute(
            "SELECT SUM(price * qty) AS notional, SUM(qty) AS qty FROM trades WHERE symbol = ? "
            "AND state = 'CLEARED' AND created_at >= ? AND created_at <= ?",
            (symbol, wire.ts(day_start), self.time),
        ).fetchone()
        if not row["qty"]:
            return None
        return round_half_even_div(int(row["notional"]), int(row["qty"]))


def _valued(position: dict[str, Any], marks: Marks) -> dict[str, Any]:
    mark = marks.of(position)
    value = position["net_position"] * mark.price
    return {
        "account": position["account"],
        "symbol": position["symbol"],
        "netPosition": str(position["net_position"]),
        "cost": str(position["cost"]),
        "realized": str(position["realized"]),
        "markPrice": str(mark.price),
        "markPriceType": marks.kind,
        "marketValue": str(value),
        "unrealizedPnl": str(value - position["cost"]),
        "valuationTime": marks.time,
        "priceSource": mark.source,
    }


def _summary(account: str, found: list[dict[str, Any]], marks: Marks) -> dict[str, Any]:
    cost = value = realized = Decimal(0)
    for position in found:
        spec = marks.spec(position["symbol"])
        cost += spec.dollars(position["cost"])
        value += spec.dollars(position["net_position"] * marks.of(position).price)
        realized += spec.dollars(position["realized"])
    return {
        "account": account,
        "currency": "USD",
        "totalCost": wire.fmt_money(cost),
        "totalMarketValue": wire.fmt_money(value),
        "totalUnrealizedPnl": wire.fmt_money(value - cost),
        "totalRealizedPnl": wire.fmt_money(realized),
        "positionCount": sum(1 for p in found if p["net_position"] != 0),
        "valuationTime": marks.time,
    }


def _source(found: list[dict[str, Any]], marks: Marks) -> str:
    """The statement's price source: the one every open position was marked from, else MIXED."""
    sources = {marks.of(p).source for p in found if p["net_position"] != 0}
    return sources.pop() if len(sources) == 1 else ("MIXED" if sources else "")


def _position_read(ctx: Ctx) -> tuple[str, list[dict[str, Any]], Marks]:
    account = ctx.own_account((ctx.query("name") or "").strip(), "name")
    point = query_as_of(ctx)
    found = holdings(ctx.db, [account], point, (ctx.query("symbol") or "").strip())
    return account, found, Marks(ctx.db, mark_type(ctx.query("mark_price_type")), point)


def _shown(ctx: Ctx, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if wire.boolean(ctx.query("include_zero_positions"), "includeZeroPositions"):
        return found
    return [p for p in found if p["net_position"] != 0]


def valuation_positions(ctx: Ctx) -> dict[str, Any]:
    account, found, marks = _position_read(ctx)
    return {
        "positions": [_valued(p, marks) for p in _shown(ctx, found)],
        "summary": _summary(account, found, marks),
    }


def valuation_positions_download(ctx: Ctx) -> Response:
    _, found, marks = _position_read(ctx)
    keys = [wire.camel(column) for column in POSITION_COLUMNS]
    rows = ([_valued(p, marks)[key] for key in keys] for p in _shown(ctx, found))
    return downloads.csv_response(downloads.BYTES, POSITION_COLUMNS, rows)


def _names(names: Any) -> list[str]:
    if not isinstance(names, list) or not names:
        raise invalid("names is required")
    return [wire.text(n, "names") for n in names]


def _by_account(
    ctx: Ctx, accounts: list[str], point: AsOf | None
) -> dict[str, list[dict[str, Any]]]:
    by_account: dict[str, list[dict[str, Any]]] = {a: [] for a in accounts}
    for position in holdings(ctx.db, accounts, point):
        by_account[position["account"]].append(position)
    return by_account


def _statement(ctx: Ctx, names: list[str], point: AsOf | None, kind: str) -> Response:
    """One statement row per account named, in the order named (API.md 5.4's columns)."""
    accounts = ctx.scoped_accounts(names, "names")
    marks = Marks(ctx.db, kind, point)
    by_account = _by_account(ctx, accounts, point)

    def rows() -> Iterator[list[object]]:
        for account, found in by_account.items():
            summary = _summary(account, found, marks)
            yield [
                *(summary[wire.camel(column)] for column in STATEMENT_COLUMNS[:8]),
                marks.kind,
                _source(found, marks),
            ]

    return downloads.csv_response(downloads.BYTES, STATEMENT_COLUMNS, rows())


def statement_download(ctx: Ctx) -> Response:
    body = ctx.body()
    point = as_of(body.get("as_of_time"), body.get("as_of_date"))
    return _statement(ctx, _names(body.get("names")), point, mark_type(body.get("mark_price_type")))


def accounts_download(ctx: Ctx) -> Response:
    """[legacy] The statement by GET (`names` repeated in the query) or by POST (as the
    statement download)."""
    if ctx.request.method == "POST":
        return statement_download(ctx)
    names, point = _names(ctx.query_list("names")), query_as_of(ctx)
    return _statement(ctx, names, point, mark_type(ctx.query("mark_price_type")))


def account_valuation(ctx: Ctx) -> dict[str, Any]:
    """[legacy] GET /v1/valuations/accounts: one account's summary and where its prices came
    from."""
    account, found, marks = _position_read(ctx)
    return {"summary": _summary(account, found, marks), "priceSource": _source(found, marks)}


def batch_get(ctx: Ctx) -> dict[str, Any]:
    """[legacy] POST /v1/valuations/accounts:batchGet: the summaries of many accounts, an error
    for each one the caller may not see (instead of refusing the call)."""
    body = ctx.body()
    point = as_of(body.get("as_of_time"), body.get("as_of_date"))
    marks = Marks(ctx.db, mark_type(body.get("mark_price_type")), point)
    visible: list[str] = []
    errors: list[dict[str, Any]] = []
    for name in _names(body.get("names")):
        try:
            visible.append(ctx.own_account(name, "names"))
        except ApiError as exc:
            errors.append({"account": name, "code": int(exc.code), "message": exc.message})
    by_account = _by_account(ctx, visible, point)
    return {
        "summaries": [_summary(a, found, marks) for a, found in by_account.items()],
        "errors": errors,
        "valuationTime": marks.time,
    }


def _route(path: str, method: str, handler: Any, pid: str = PID_REQUIRED) -> Route:
    return Route(path, (method,), handler, scope="read:positions", pid=pid, family="positions")


ROUTES = [
    _route("/v1/valuations/positions", "GET", valuation_positions),
    _route("/v1/valuations/positions/download", "GET", valuation_positions_download),
    _route("/v1/valuations/accounts/statement/download", "POST", statement_download, PID_OPTIONAL),
    _route("/v1/valuations/accounts", "GET", account_valuation),
    _route("/v1/valuations/accounts:batchGet", "POST", batch_get, PID_OPTIONAL),
    Route(
        "/v1/valuations/accounts/download",
        ("GET", "POST"),
        accounts_download,
        scope="read:positions",
        pid=PID_OPTIONAL,
        family="positions",
    ),
]
