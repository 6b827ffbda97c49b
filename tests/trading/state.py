"""The mirror's content as plain values, for comparing two runs: every exchange-derived column of
every table, without our own bookkeeping (row ids, when we wrote a row, where it came from)."""

from __future__ import annotations

from typing import Any

from trading.models import Execution, Instrument, Order, Position, Trade, TradingDay

OWN = {"id", "updated_at", "synced_at", "source", "busted_at"}


def rows(model: Any, key: str) -> list[tuple[Any, ...]]:
    names = [f.attname for f in model._meta.concrete_fields if f.attname not in OWN]
    return [tuple(row) for row in model.objects.order_by(*key.split(",")).values_list(*names)]


def mirror_state() -> dict[str, list[tuple[Any, ...]]]:
    return {
        "instruments": rows(Instrument, "symbol"),
        "orders": rows(Order, "exchange_id"),
        "executions": rows(Execution, "exchange_id"),
        "trades": rows(Trade, "exchange_id"),
        "positions": rows(Position, "account,symbol"),
        "days": rows(TradingDay, "trade_date"),
    }
