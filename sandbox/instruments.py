"""Instrument rows as the engine sees them: a leaf module every part of the exchange may import."""

from __future__ import annotations

import sqlite3
from decimal import Decimal

from sandbox.engine.fixedpoint import InstrumentSpec
from sandbox.errors import not_found


def spec(row: sqlite3.Row) -> InstrumentSpec:
    return InstrumentSpec(
        symbol=row["symbol"],
        price_scale=row["price_scale"],
        fractional_qty_scale=row["frac_scale"],
        tick_size=Decimal(row["tick_size"]),
        price_limit_low=row["price_low"],
        price_limit_high=row["price_high"],
    )


def find(db: sqlite3.Connection, symbol: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = db.execute(
        "SELECT * FROM instruments WHERE symbol = ?", (symbol,)
    ).fetchone()
    return row


def instrument_row(db: sqlite3.Connection, symbol: str) -> sqlite3.Row:
    """The instrument, or NOT_FOUND."""
    row = find(db, symbol)
    if row is None:
        raise not_found(f"instrument {symbol} not found")
    return row


def instrument_spec(db: sqlite3.Connection, symbol: str) -> InstrumentSpec:
    return spec(instrument_row(db, symbol))
