"""GetTradeStats (API.md 5.6): figures of one instrument's trades over a window, and in bars.

`POST /v1/report/trades/stats` with `{symbol, startTime, endTime | startTradeDate, endTradeDate,
bars}`; market-wide (every firm's trades), so no x-participant-id. Counts, volume and notional
cover every trade of the window; the `cleared*` figures only those still CLEARED (not busted);
first, last, high and low are trade prices. `bars` splits the window into that many equal bars.
Prices are price units, volume quantity units, notional price x quantity units.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sandbox import wire
from sandbox.errors import invalid
from sandbox.instruments import instrument_row
from sandbox.routing import Ctx, Route

MAX_BARS = 1000


@dataclass
class Tally:
    first: int = 0
    last: int = 0
    high: int = 0
    low: int = 0
    trades: int = 0
    cleared_trades: int = 0
    volume: int = 0
    cleared_volume: int = 0
    notional: int = 0
    cleared_notional: int = 0

    def add(self, price: int, qty: int, cleared: bool) -> None:
        if not self.trades:
            self.first = self.high = self.low = price
        self.last = price
        self.high, self.low = max(self.high, price), min(self.low, price)
        self.trades += 1
        self.volume += qty
        self.notional += price * qty
        if cleared:
            self.cleared_trades += 1
            self.cleared_volume += qty
            self.cleared_notional += price * qty

    def json(self) -> dict[str, str]:
        return {
            "first": str(self.first),
            "last": str(self.last),
            "high": str(self.high),
            "low": str(self.low),
            "totalTradeCount": str(self.trades),
            "clearedTradeCount": str(self.cleared_trades),
            "volume": str(self.volume),
            "clearedVolume": str(self.cleared_volume),
            "notional": str(self.notional),
            "clearedNotional": str(self.cleared_notional),
        }


@dataclass(frozen=True)
class Window:
    start: datetime | None = None
    end: datetime | None = None
    # Times are inclusive at both ends; a trade date ends when the next begins (17:00 New York).
    end_inclusive: bool = True


def _window(body: dict[str, Any]) -> Window:
    times = body.get("start_time") or body.get("end_time")
    dates = body.get("start_trade_date") or body.get("end_trade_date")
    if times and dates:
        raise invalid("give startTime/endTime or startTradeDate/endTradeDate, not both")
    if dates:
        start = end = None
        if body.get("start_trade_date"):
            day = wire.parse_v1_date(body["start_trade_date"], "startTradeDate")
            start = wire.trade_date_end(day - timedelta(days=1))
        if body.get("end_trade_date"):
            end = wire.trade_date_end(wire.parse_v1_date(body["end_trade_date"], "endTradeDate"))
        window = Window(start, end, end_inclusive=False)
    else:
        window = Window(
            wire.parse_ts(wire.text(body["start_time"], "startTime"), "startTime")
            if body.get("start_time")
            else None,
            wire.parse_ts(wire.text(body["end_time"], "endTime"), "endTime")
            if body.get("end_time")
            else None,
        )
    if window.start is not None and window.end is not None and window.end <= window.start:
        raise invalid("the window ends before it starts")
    return window


def trade_stats(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    symbol = wire.text(body.get("symbol"), "symbol").strip()
    if not symbol:
        raise invalid("symbol is required")
    instrument_row(ctx.db, symbol)
    window = _window(body)
    start, end = window.start, window.end
    bars = wire.int64(body.get("bars"), "bars", default=0)
    if not 0 <= bars <= MAX_BARS:
        raise invalid(f"bars must be between 0 and {MAX_BARS}")
    if bars and (start is None or end is None):
        raise invalid("bars need a window with both ends (times or trade dates)")
    sql, params = "SELECT price, qty, state, created_at FROM trades WHERE symbol = ?", [symbol]
    if start is not None:
        sql += " AND created_at >= ?"
        params.append(wire.ts(start))
    if end is not None:
        sql += " AND created_at <= ?" if window.end_inclusive else " AND created_at < ?"
        params.append(wire.ts(end))
    total = Tally()
    tallies = [Tally() for _ in range(bars)]
    width = (end - start) / bars if bars and start is not None and end is not None else None
    for row in ctx.db.execute(sql + " ORDER BY seq", params):
        cleared = row["state"] == "CLEARED"
        total.add(row["price"], row["qty"], cleared)
        if width is not None and start is not None:
            moment = wire.parse_ts(row["created_at"], "createdAt")
            tallies[min(int((moment - start) / width), bars - 1)].add(
                row["price"], row["qty"], cleared
            )
    result: dict[str, Any] = {"stats": total.json()}
    if width is not None and start is not None:
        result["bars"] = [t.json() for t in tallies]
        result["barStartTime"] = [wire.ts(start + width * i) for i in range(bars)]
        result["barEndTime"] = [wire.ts(start + width * (i + 1)) for i in range(bars)]
    return result


ROUTES = [
    Route(
        "/v1/report/trades/stats",
        ("POST",),
        trade_stats,
        scope="read:reports",
        family="reports",
        limit="trade_stats",
    ),
]
