"""The exchange's journal: every execution, trade and position change is written here, and only here.

Rows are append-only and ordered by `seq` (a trade's state is the one thing that changes, when it is
busted), so whoever follows the exchange's activity, a report or a stream, reads them in this order.
The cash side of the same events is the balance ledger (`sandbox.ledger`), written in the same
transaction. A trigger copies each trade state into the log the trade-capture stream replays
(`sandbox/store.py`, `sandbox/streams/feeds.py`).

Each kind of row has one statement and one function that builds its values: the `record_*`
functions write one row as the order book goes, and the bulk fill (`sandbox.bulk`) hands many rows
built the same way to `executemany`.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from sandbox import wire
from sandbox.engine.enums import ExecutionType, OrdRejectReason
from sandbox.engine.positions import Position
from sandbox.messages import order_json

INSERT_EXECUTION = (
    "INSERT INTO executions (id, order_id, account, symbol, type, last_shares, last_px, "
    "trade_id, aggressor, commission, text, reject_reason, transact_time, trade_date, "
    "order_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_TRADE = (
    "INSERT INTO trades (id, symbol, aggressor_exec, passive_exec, aggressor_account, "
    "passive_account, state, price, qty, created_at, trade_type) "
    "VALUES (?, ?, ?, ?, ?, ?, 'CLEARED', ?, ?, ?, ?)"
)
UPSERT_POSITION = (
    "INSERT INTO positions (account, symbol, net_position, qty_bought, qty_sold, cost, realized, "
    "expired, update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account, symbol) DO "
    "UPDATE SET net_position = excluded.net_position, qty_bought = excluded.qty_bought, "
    "qty_sold = excluded.qty_sold, cost = excluded.cost, realized = excluded.realized, "
    "expired = excluded.expired, update_time = excluded.update_time"
)
INSERT_POSITION_CHANGE = (
    "INSERT INTO position_ledger (id, account, symbol, quantity_change, cost_change, "
    "realized_change, net_position, cost, realized, update_time, business_date, description, ref, "
    "qty_bought, qty_sold, expired) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def execution_row(
    exec_id: str,
    order: dict[str, Any],
    exec_type: ExecutionType,
    stamp: str,
    trade_date: str,
    *,
    last_shares: int = 0,
    last_px: int = 0,
    trade_id: str = "",
    aggressor: bool = False,
    commission: int = 0,
    text: str = "",
    reject_reason: OrdRejectReason | None = None,
) -> tuple[Any, ...]:
    """The values of INSERT_EXECUTION: the execution, carrying the order as it is now."""
    return (
        exec_id,
        order["id"],
        order["account"],
        order["symbol"],
        exec_type.name,
        last_shares,
        last_px,
        trade_id,
        int(aggressor),
        commission,
        text,
        reject_reason.name if reject_reason is not None else "",
        stamp,
        trade_date,
        json.dumps(order_json(order)),
    )


def record_execution(
    db: sqlite3.Connection,
    order: dict[str, Any],
    exec_type: ExecutionType,
    stamp: str,
    **details: Any,
) -> str:
    """One execution of `order` now (details: as `execution_row` takes them); returns its id."""
    exec_id = wire.exchange_id()
    trade_date = wire.business_date().isoformat()
    db.execute(
        INSERT_EXECUTION, execution_row(exec_id, order, exec_type, stamp, trade_date, **details)
    )
    return exec_id


def trade_row(
    *,
    trade_id: str,
    symbol: str,
    aggressor_exec: str,
    passive_exec: str,
    aggressor_account: str,
    passive_account: str,
    price: int,
    qty: int,
    stamp: str,
    trade_type: str = "REGULAR",
) -> tuple[Any, ...]:
    """The values of INSERT_TRADE (a new trade is CLEARED)."""
    return (
        trade_id,
        symbol,
        aggressor_exec,
        passive_exec,
        aggressor_account,
        passive_account,
        price,
        qty,
        stamp,
        trade_type,
    )


def record_trade(db: sqlite3.Connection, **trade: Any) -> None:
    db.execute(INSERT_TRADE, trade_row(**trade))


def bust_trade(db: sqlite3.Connection, trade_id: str) -> None:
    """The trade's state becomes BUSTED (its fills are reversed by the caller)."""
    db.execute("UPDATE trades SET state = 'BUSTED' WHERE id = ?", (trade_id,))


def read_position(db: sqlite3.Connection, account: str, symbol: str) -> Position:
    row = db.execute(
        "SELECT * FROM positions WHERE account = ? AND symbol = ?", (account, symbol)
    ).fetchone()
    if row is None:
        return Position(account=account, symbol=symbol)
    return Position(
        account=account,
        symbol=symbol,
        net_position=row["net_position"],
        qty_bought=row["qty_bought"],
        qty_sold=row["qty_sold"],
        cost=row["cost"],
        realized=row["realized"],
        expired=bool(row["expired"]),
    )


def position_row(after: Position, stamp: str) -> tuple[Any, ...]:
    """The values of UPSERT_POSITION."""
    return (
        after.account,
        after.symbol,
        after.net_position,
        after.qty_bought,
        after.qty_sold,
        after.cost,
        after.realized,
        int(after.expired),
        stamp,
    )


def position_change_row(
    entry_id: str,
    before: Position,
    after: Position,
    description: str,
    stamp: str,
    business_date: str,
    ref: str = "",
) -> tuple[Any, ...]:
    """The values of INSERT_POSITION_CHANGE: the change, and the whole position after it."""
    return (
        entry_id,
        after.account,
        after.symbol,
        after.net_position - before.net_position,
        after.cost - before.cost,
        after.realized - before.realized,
        after.net_position,
        after.cost,
        after.realized,
        stamp,
        business_date,
        description,
        ref,
        after.qty_bought,
        after.qty_sold,
        int(after.expired),
    )


def record_position(
    db: sqlite3.Connection,
    before: Position,
    after: Position,
    description: str,
    stamp: str,
    ref: str = "",
) -> None:
    """The position becomes `after`, with its position-ledger entry (ref: the execution, if any)."""
    db.execute(UPSERT_POSITION, position_row(after, stamp))
    day = wire.business_date().isoformat()
    entry = "pl_" + wire.ulid()
    db.execute(
        INSERT_POSITION_CHANGE,
        position_change_row(entry, before, after, description, stamp, day, ref),
    )
