"""Instruments, reference data, order book and settlement reads (API.md 5.7).

The sandbox starts with a handful of instruments in the shapes the docs show (whole-contract and
partial-contract markets, cent and half-cent ticks) and house liquidity on each, so partner orders
can fill from the first minute.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from typing import Any

from sandbox import book, firms, wire
from sandbox.env import Env
from sandbox.errors import invalid
from sandbox.instruments import instrument_row
from sandbox.routing import Ctx, Route

SEED = [
    # symbol, description, priceScale, fractionalQtyScale, tick, event, question
    (
        "aec-nfl-ne-den-2026-01-25",
        "New England vs Denver: New England wins",
        100,
        100,
        "0.01",
        "nfl-ne-den-2026-01-25",
        "Will New England beat Denver?",
    ),
    (
        "atc-mls-atl-clt-2026-03-22-draw",
        "Atlanta vs Charlotte: draw",
        100,
        1,
        "0.01",
        "mls-atl-clt-2026-03-22",
        "Will Atlanta and Charlotte draw?",
    ),
    (
        "tec-nfl-sbw-2026-02-08-kc",
        "Super Bowl winner: Kansas City",
        100,
        1,
        "0.01",
        "nfl-sbw-2026-02-08",
        "Will Kansas City win the Super Bowl?",
    ),
    (
        "cpc-btc-above-day-2026-09-21-74000",
        "Bitcoin above 74,000 on 2026-09-21",
        1000,
        100,
        "0.005",
        "btc-above-day-2026-09-21",
        "Will Bitcoin close above $74,000?",
    ),
]

STATE_PREFIX = "INSTRUMENT_STATE_"


def add_instrument(db: sqlite3.Connection, body: dict[str, Any]) -> None:
    symbol = wire.text(body.get("symbol"), "symbol").strip()
    if not symbol or symbol.startswith(("/", "!")):
        raise invalid("symbol is required")
    price_scale = wire.int64(body.get("price_scale"), "priceScale", default=100)
    frac = wire.int64(body.get("fractional_qty_scale"), "fractionalQtyScale", default=1) or 1
    tick = str(body.get("tick_size", "0.01"))
    step = Decimal(tick) * price_scale
    if step <= 0 or step != step.to_integral_value():
        raise invalid("tickSize must be a whole number of price units")
    low = wire.int64(body.get("price_low"), "priceLow", default=int(step))
    high = wire.int64(body.get("price_high"), "priceHigh", default=price_scale - int(step))
    stamp = wire.ts()
    db.execute(
        "INSERT INTO instruments (symbol, description, price_scale, frac_scale, tick_size, "
        "min_trade_qty, price_low, price_high, state, event_id, question, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'OPEN', ?, ?, ?, ?)",
        (
            symbol,
            wire.text(body.get("description"), "description") or symbol,
            price_scale,
            frac,
            tick,
            wire.int64(body.get("minimum_trade_qty"), "minimumTradeQty", default=1),
            low,
            high,
            wire.text(body.get("event_id"), "eventId") or symbol.split("-", 1)[-1],
            wire.text(body.get("question"), "question") or symbol,
            stamp,
            stamp,
        ),
    )


def seed(env: Env) -> None:
    with env.store.write() as db:
        firms.ensure_house(db)
        if env.settings.seed_market:
            for symbol in seed_instruments(db):
                book.house_quote(db, symbol)


def seed_instruments(db: sqlite3.Connection) -> list[str]:
    """Add the seed instruments that are missing; returns the symbols added."""
    added = []
    for symbol, description, scale, frac, tick, event, question in SEED:
        if db.execute("SELECT 1 FROM instruments WHERE symbol = ?", (symbol,)).fetchone():
            continue
        add_instrument(
            db,
            {
                "symbol": symbol,
                "description": description,
                "price_scale": scale,
                "fractional_qty_scale": frac,
                "tick_size": tick,
                "event_id": event,
                "question": question,
                "minimum_trade_qty": 1,
            },
        )
        added.append(symbol)
    return added


def instrument_json(row: sqlite3.Row, emit_zero: bool) -> dict[str, Any]:
    state = "OPEN" if row["state"] == "OPEN" else row["state"]
    created = row["created_at"]
    day = wire.business_date()
    data: dict[str, Any] = {
        "symbol": row["symbol"],
        "tickSize": float(row["tick_size"]),
        "baseCurrency": "USD",
        "multiplier": 1.0,
        "minimumTradeQty": str(row["min_trade_qty"]),
        "startDate": wire.v1_date(day),
        "expirationDate": wire.v1_date(day.replace(year=day.year + 1)),
        "tradingSchedule": [],
        "description": row["description"],
        "clearingHouse": "QCC",
        "minimumUnaffiliatedFirms": "0",
        "nonTradable": False,
        "jsonAttributes": "",
        "productId": row["symbol"].split("-")[0].upper(),
        "priceLimit": {
            "low": str(row["price_low"]),
            "high": str(row["price_high"]),
            "lowSet": True,
            "highSet": True,
        },
        "tradeSettlementPeriod": "0",
        "state": wire.enum_out(STATE_PREFIX + state, "INSTRUMENT_STATE_CLOSED", emit_zero),
        "priceScale": str(row["price_scale"]),
        "fractionalQtyScale": str(row["frac_scale"]),
        "settlementCurrency": "",
        "settlementPriceScale": "0",
        "metadata": {
            "event_id": row["event_id"],
            "clearing_sym": row["symbol"].split("-")[0].upper(),
        },
        "eventAttributes": {
            "question": row["question"],
            "payoutValue": str(row["price_scale"]),
            "eventId": row["event_id"],
            "eventDisplayName": row["description"],
            "eventOutcome": "EVENT_OUTCOME_INDEPENDENT",
        },
        "createTime": created,
        "updateTime": row["updated_at"],
    }
    return wire.drop_none(data)


def list_instruments(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    size = wire.page_size(body.get("page_size"), default=50, maximum=1000)
    offset = wire.page_offset(body.get("page_token"))
    sql, params = "SELECT * FROM instruments WHERE 1 = 1", list[Any]()
    symbols = body.get("symbols") or []
    if symbols:
        if not isinstance(symbols, list):
            raise invalid("symbols must be a list")
        sql += f" AND symbol IN ({','.join('?' * len(symbols))})"
        params.extend(str(s) for s in symbols)
    states = [str(s).removeprefix(STATE_PREFIX) for s in body.get("states") or []]
    if states:
        sql += f" AND state IN ({','.join('?' * len(states))})"
        params.extend(states)
    tradable = str(body.get("tradable_filter") or "")
    if tradable == "TRADABLE_FILTER_TRADABLE":
        sql += " AND state = 'OPEN'"
    elif tradable == "TRADABLE_FILTER_NON_TRADABLE":
        sql += " AND state != 'OPEN'"
    rows = ctx.db.execute(
        sql + " ORDER BY symbol LIMIT ? OFFSET ?", [*params, size + 1, offset]
    ).fetchall()
    more = len(rows) > size
    emit = ctx.env.settings.emit_zero_enums
    return {
        "instruments": [instrument_json(r, emit) for r in rows[:size]],
        "nextPageToken": wire.page_token(offset + size) if more else "",
        "eof": not more,
    }


def list_symbols(ctx: Ctx) -> dict[str, Any]:
    rows = ctx.db.execute("SELECT symbol FROM instruments ORDER BY symbol").fetchall()
    return {"symbols": [r["symbol"] for r in rows]}


def metadata(ctx: Ctx) -> dict[str, Any]:
    return {
        "metadata": {
            "exchange_name": "Polymarket Exchange (sandbox)",
            "server_version": "v1.0.0-sandbox",
            "timezone": "America/New_York",
        }
    }


def _levels(db: sqlite3.Connection, symbol: str, side: str, depth: int) -> list[dict[str, str]]:
    order = "DESC" if side == "BUY" else "ASC"
    sql = (
        "SELECT price, SUM(leaves_qty) AS qty FROM orders WHERE symbol = ? AND side = ? "  # noqa: S608
        "AND state IN ('NEW', 'PARTIALLY_FILLED') AND leaves_qty > 0 "
        f"GROUP BY price ORDER BY price {order} LIMIT ?"
    )
    rows = db.execute(
        sql,
        (symbol, side, depth),
    ).fetchall()
    return [{"px": str(r["price"]), "qty": str(r["qty"])} for r in rows]


def _symbol(ctx: Ctx) -> str:
    symbol = ctx.args.get("symbol", "")
    if not symbol or symbol.startswith(("/", "!")):
        raise invalid("symbol is required")
    return symbol


def _stats(row: sqlite3.Row) -> dict[str, Any]:
    if row["settlement_px"] is None:
        return {}
    return {
        "settlementPx": str(row["settlement_px"]),
        "settlementPreliminary": False,
        "settlementPriceCalculationMethod": "SETTLEMENT_PRICE_CALCULATION_METHOD_EVENT_TIER_1",
        "settlementPriceCalculationText": row["settlement_text"],
        "settlementSetTime": row["settlement_time"],
    }


def orderbook(ctx: Ctx) -> dict[str, Any]:
    symbol = _symbol(ctx)
    row = instrument_row(ctx.db, symbol)
    depth = wire.int64(ctx.query("depth"), "depth", default=3) or 3
    if depth > 10 or depth < 0:
        raise invalid("depth must be between 1 and 10")
    emit = ctx.env.settings.emit_zero_enums
    return wire.drop_none(
        {
            "symbol": symbol,
            "bids": _levels(ctx.db, symbol, "BUY", depth),
            "offers": _levels(ctx.db, symbol, "SELL", depth),
            "state": wire.enum_out(STATE_PREFIX + row["state"], "INSTRUMENT_STATE_CLOSED", emit),
            "stats": _stats(row),
            "transactTime": wire.ts(),
        }
    )


def bbo(ctx: Ctx) -> dict[str, Any]:
    symbol = _symbol(ctx)
    row = instrument_row(ctx.db, symbol)
    bids, offers = _levels(ctx.db, symbol, "BUY", 1), _levels(ctx.db, symbol, "SELL", 1)
    data: dict[str, Any] = {"symbol": symbol, "transactTime": wire.ts()}
    if bids:
        data["bestBid"] = bids[0]
    if offers:
        data["bestOffer"] = offers[0]
    if bids and offers:
        bid, offer = int(bids[0]["px"]), int(offers[0]["px"])
        data["spread"] = str(offer - bid)
        data["midPrice"] = str((offer + bid) // 2)
    state = wire.enum_out(STATE_PREFIX + row["state"], "INSTRUMENT_STATE_CLOSED", False)
    if state:
        data["state"] = state
    return data


def settlement(ctx: Ctx) -> dict[str, Any]:
    symbol = _symbol(ctx)
    row = instrument_row(ctx.db, symbol)
    data: dict[str, Any] = {"symbol": symbol, "priceScale": str(row["price_scale"])}
    stats = _stats(row)
    if stats:
        data["stats"] = stats
    return data


ROUTES = [
    Route(
        "/v1/refdata/instruments",
        ("POST",),
        list_instruments,
        scope="read:instruments",
        family="refdata",
        limit="instruments",
    ),
    Route(
        "/v1/refdata/symbols",
        ("POST",),
        list_symbols,
        scope="read:instruments",
        family="refdata",
        limit="symbols",
    ),
    Route("/v1/refdata/metadata", ("POST",), metadata, scope="read:instruments", family="refdata"),
    Route(
        "/v1/orderbook/<path:symbol>/bbo",
        ("GET",),
        bbo,
        scope="read:marketdata",
        family="orderbook",
        limit="orderbook",
    ),
    Route(
        "/v1/orderbook/<path:symbol>",
        ("GET",),
        orderbook,
        scope="read:l2marketdata",
        family="orderbook",
        limit="orderbook",
    ),
    Route(
        "/v1/instruments/<path:symbol>/settlement",
        ("GET",),
        settlement,
        scope="read:marketdata",
        family="settlement",
        limit="settlement",
    ),
]
