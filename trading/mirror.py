"""Applying what the exchange reports to the mirror, a batch at a time, set-based.

Every function here runs inside the caller's transaction (the consumer's batch, with its resume
token; or a backfill chunk) and is idempotent: delivery is at least once and streams may resume
before what was already applied, so

- executions and trades are keyed by the exchange's id; a repeat is ignored;
- an order or a position is replaced only by a newer snapshot of it (an order's snapshots are
  ordered by transact time, then filled quantity, then how final its state is), so a late or
  repeated one changes nothing;
- a trade that comes back BUSTED supersedes the cleared one once: its fills are marked busted and
  taken out of the daily counters, whichever of the two streams (executions or trades) arrives
  first;
- the daily counters move only for executions that were new to the mirror.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone

from backoffice.gateway import results as r
from backoffice.gateway.streams import PositionChange
from trading.bulk import db_time, execute, staged, where_true

FILL_TYPES = ("PARTIAL_FILL", "FILL")
_RANKS = {
    "PENDING_NEW": 0,
    "NEW": 1,
    "PARTIALLY_FILLED": 1,
    "PENDING_REPLACE": 2,
    "PENDING_CANCEL": 2,
    "PENDING_RISK": 2,
}
FINAL_RANK = 3


def short(name: str, prefix: str) -> str:
    return name.removeprefix(prefix)


def state_rank(state: str) -> int:
    return _RANKS.get(state, FINAL_RANK)


@dataclass(frozen=True)
class Applied:
    """What one batch changed: rows new to the mirror, and its latest event time."""

    new: int
    last_event_time: dt.datetime | None


def _latest(times: Iterable[dt.datetime | None]) -> dt.datetime | None:
    return max((t for t in times if t is not None), default=None)


# --- orders ------------------------------------------------------------------------------------

ORDER_COLUMNS = (
    ("exchange_id", "text"),
    ("clord_id", "text"),
    ("account", "text"),
    ("symbol", "text"),
    ("side", "text"),
    ("order_type", "text"),
    ("time_in_force", "text"),
    ("state", "text"),
    ("price", "numeric"),
    ("avg_px", "numeric"),
    ("order_qty", "numeric"),
    ("cum_qty", "numeric"),
    ("leaves_qty", "numeric"),
    ("cash_order_qty", "numeric"),
    ("commission_total", "numeric"),
    ("insert_time", "timestamptz"),
    ("last_transact_time", "timestamptz"),
    ("state_rank", "smallint"),
)


def _newer(new: str, old: str) -> str:
    """SQL: the `new` snapshot of an order is newer than the `old` one."""
    version = ("last_transact_time", "cum_qty", "state_rank")
    return f"({', '.join(f'{new}.{c}' for c in version)}) > ({', '.join(f'{old}.{c}' for c in version)})"


def order_row(o: r.Order, fallback_time: dt.datetime | None = None) -> dict[str, Any]:
    state = short(o.state, "ORDER_STATE_")
    last = o.last_transact_time or fallback_time or o.insert_time
    return {
        "exchange_id": o.id,
        "clord_id": o.clord_id,
        "account": o.account,
        "symbol": o.symbol,
        "side": short(o.side, "SIDE_"),
        "order_type": short(o.type, "ORDER_TYPE_"),
        "time_in_force": short(o.time_in_force, "TIME_IN_FORCE_"),
        "state": state,
        "price": o.price,
        "avg_px": o.avg_px,
        "order_qty": o.order_qty,
        "cum_qty": o.cum_qty,
        "leaves_qty": o.leaves_qty,
        "cash_order_qty": o.cash_order_qty,
        "commission_total": o.commission_total,
        "insert_time": o.insert_time or o.create_time or last,
        "last_transact_time": last,
        "state_rank": state_rank(state),
    }


def _version(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["last_transact_time"], row["cum_qty"], row["state_rank"])


def _newest(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per order, the newest: a statement may touch a row only once."""
    best: dict[str, dict[str, Any]] = {}
    for row in rows:
        held = best.get(row["exchange_id"])
        if held is None or _version(row) > _version(held):
            best[row["exchange_id"]] = row
    return list(best.values())


def upsert_orders(rows: Iterable[dict[str, Any]]) -> None:
    newest = _newest(rows)
    if not newest:
        return
    names = [name for name, _ in ORDER_COLUMNS]
    updates = ", ".join(f"{n} = excluded.{n}" for n in names[1:])
    newer = _newer("excluded", "trading_order")
    now = db_time(timezone.now())
    x = staged("order", ORDER_COLUMNS, newest)
    execute(
        f"{x.prefix}INSERT INTO trading_order ({', '.join(names)}, updated_at) "  # noqa: S608
        f"SELECT {', '.join('x.' + n for n in names)}, %s FROM {x.source}"
        f"{where_true()} ON CONFLICT (exchange_id) DO UPDATE SET {updates}, "
        f"updated_at = excluded.updated_at WHERE {newer}",
        [now, *x.params],
    )


_PROGRESS_COLUMNS = (
    ("exchange_id", "text"),
    ("state", "text"),
    ("cum_qty", "numeric"),
    ("leaves_qty", "numeric"),
    ("last_transact_time", "timestamptz"),
    ("state_rank", "smallint"),
)


def update_order_progress(rows: Iterable[dict[str, Any]]) -> None:
    """Move known orders on to the state and quantities a downloaded execution reports (the
    executions file carries no more of the order than that)."""
    newest = _newest(rows)
    if not newest:
        return
    sets = ", ".join(f"{n} = x.{n}" for n, _ in _PROGRESS_COLUMNS[1:])
    now = db_time(timezone.now())
    x = staged("order_progress", _PROGRESS_COLUMNS, newest)
    execute(
        f"{x.prefix}UPDATE trading_order AS o SET {sets}, updated_at = %s "  # noqa: S608
        f"FROM {x.source} WHERE o.exchange_id = x.exchange_id AND {_newer('x', 'o')}",
        [now, *x.params],
    )


def apply_orders(orders: Sequence[r.Order]) -> Applied:
    """Order snapshots (the order stream's open orders, the orders download)."""
    upsert_orders(order_row(o) for o in orders)
    return Applied(len(orders), _latest(o.last_transact_time for o in orders))


# --- executions ---------------------------------------------------------------------------------

EXECUTION_COLUMNS = (
    ("exchange_id", "text"),
    ("order_exchange_id", "text"),
    ("account", "text"),
    ("symbol", "text"),
    ("side", "text"),
    ("exec_type", "text"),
    ("order_state", "text"),
    ("last_shares", "numeric"),
    ("last_px", "numeric"),
    ("cum_qty", "numeric"),
    ("leaves_qty", "numeric"),
    ("commission", "numeric"),
    ("aggressor", "boolean"),
    ("trade_id", "text"),
    ("reject_reason", "text"),
    ("text", "text"),
    ("transact_time", "timestamptz"),
    ("trade_date", "date"),
)


def _trade_date(transact_time: dt.datetime | None, trade_date: dt.date | None) -> dt.date | None:
    if trade_date is not None or transact_time is None:
        return trade_date
    return transact_time.astimezone(dt.UTC).date()


def execution_row(e: r.Execution) -> dict[str, Any]:
    order = e.order
    assert order is not None, "a Drop Copy execution carries its order"
    return _execution(
        e, order.id, order.account, order.symbol, order.side, order.state, order.cum_qty,
        order.leaves_qty,
    )  # fmt: skip


def downloaded_execution_row(e: r.DownloadedExecution) -> dict[str, Any]:
    """The executions download carries the order's id, side and quantities beside the execution."""
    return _execution(
        e, e.order_id, e.account, e.symbol, e.side, e.order_state, e.cum_qty, e.leaves_qty
    )


def _execution(
    e: r.Execution | r.DownloadedExecution,
    order_id: str,
    account: str,
    symbol: str,
    side: str,
    order_state: str,
    cum_qty: Decimal,
    leaves_qty: Decimal,
) -> dict[str, Any]:
    return {
        "exchange_id": e.id,
        "order_exchange_id": order_id,
        "account": account,
        "symbol": symbol,
        "side": short(side, "SIDE_"),
        "exec_type": short(e.type, "EXECUTION_TYPE_"),
        "order_state": short(order_state, "ORDER_STATE_"),
        "last_shares": e.last_shares,
        "last_px": e.last_px,
        "cum_qty": cum_qty,
        "leaves_qty": leaves_qty,
        "commission": e.commission,
        "aggressor": e.aggressor,
        "trade_id": e.trade_id,
        "reject_reason": short(e.order_reject_reason, "ORD_REJECT_REASON_"),
        "text": e.text[:300],
        "transact_time": e.transact_time,
        "trade_date": _trade_date(e.transact_time, e.transact_trade_date),
    }


def insert_executions(rows: Sequence[dict[str, Any]], *, source: str) -> int:
    """Insert the executions new to the mirror (a fill of an already-busted trade arrives
    busted) and count them in the daily counters; return how many were new."""
    if not rows:
        return 0
    names = [name for name, _ in EXECUTION_COLUMNS]
    x = staged("execution", EXECUTION_COLUMNS, rows)
    inserted = execute(
        f"{x.prefix}INSERT INTO trading_execution ({', '.join(names)}, busted, source) "  # noqa: S608
        f"SELECT {', '.join('x.' + n for n in names)}, EXISTS (SELECT 1 FROM trading_trade t "
        "WHERE t.exchange_id = x.trade_id AND t.state = 'BUSTED'), %s "
        f"FROM {x.source}{where_true()} ON CONFLICT (exchange_id) DO NOTHING "
        "RETURNING trade_date, exec_type, last_shares, last_px, busted",
        [source, *x.params],
    )
    _count_days(inserted, sign=1)
    return len(inserted)


def _count_days(rows: Iterable[Sequence[Any]], *, sign: int, busting: bool = False) -> None:
    """Add (sign 1) executions to, or take (sign -1) busted fills out of, the day counters."""
    days: dict[Any, list[Any]] = defaultdict(lambda: [0, 0, Decimal(0), Decimal(0), 0])
    for trade_date, exec_type, last_shares, last_px, busted in rows:
        if trade_date is None:
            continue
        day = days[trade_date]
        if not busting:
            day[0] += 1
        if exec_type in FILL_TYPES and (busting or not busted):
            shares = Decimal(str(last_shares))
            day[1] += sign
            day[2] += sign * shares
            day[3] += sign * shares * Decimal(str(last_px or 0))
        if busting:
            day[4] += 1
    if not days:
        return
    values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(days))
    params: list[Any] = []
    for trade_date, (executions, fills, contracts, notional, busted_fills) in sorted(days.items()):
        params += [trade_date, executions, fills, contracts, notional, busted_fills]
    added = ", ".join(
        f"{n} = trading_tradingday.{n} + excluded.{n}"
        for n in ("executions", "fills", "filled_contracts", "filled_notional", "busted_fills")
    )
    execute(
        "INSERT INTO trading_tradingday (trade_date, executions, fills, filled_contracts, "  # noqa: S608
        f"filled_notional, busted_fills) VALUES {values} "
        f"ON CONFLICT (trade_date) DO UPDATE SET {added}",
        params,
    )


def apply_executions(executions: Sequence[r.Execution]) -> Applied:
    """A Drop Copy batch: the executions, and each order as it stood after its newest one."""
    rows = [execution_row(e) for e in executions]
    new = insert_executions(rows, source="stream")
    upsert_orders(order_row(e.order, e.transact_time) for e in executions if e.order is not None)
    return Applied(new, _latest(e.transact_time for e in executions))


def apply_downloaded_executions(executions: Sequence[r.DownloadedExecution]) -> Applied:
    rows = [downloaded_execution_row(e) for e in executions]
    new = insert_executions(rows, source="backfill")
    update_order_progress(
        {
            "exchange_id": row["order_exchange_id"],
            "state": row["order_state"],
            "cum_qty": row["cum_qty"],
            "leaves_qty": row["leaves_qty"],
            "last_transact_time": row["transact_time"],
            "state_rank": state_rank(row["order_state"]),
        }
        for row in rows
    )
    return Applied(new, _latest(e.transact_time for e in executions))


# --- trades ------------------------------------------------------------------------------------

TRADE_COLUMNS = (
    ("exchange_id", "text"),
    ("symbol", "text"),
    ("state", "text"),
    ("trade_type", "text"),
    ("price", "numeric"),
    ("qty", "numeric"),
    ("aggressor_execution", "text"),
    ("passive_execution", "text"),
    ("aggressor_account", "text"),
    ("passive_account", "text"),
    ("transact_time", "timestamptz"),
)


def _trade_row(t: r.Trade) -> dict[str, Any]:
    leg = t.aggressor or t.passive
    order = leg.order if leg is not None else None
    return {
        "exchange_id": t.id,
        "symbol": order.symbol if order is not None else "",
        "state": short(t.state, "TRADE_STATE_"),
        "trade_type": short(t.trade_type, "TRADE_TYPE_"),
        "price": leg.last_px if leg is not None else None,
        "qty": leg.last_shares if leg is not None else Decimal(0),
        "aggressor_execution": t.aggressor.id if t.aggressor else "",
        "passive_execution": t.passive.id if t.passive else "",
        "aggressor_account": t.aggressor.order.account if t.aggressor and t.aggressor.order else "",
        "passive_account": t.passive.order.account if t.passive and t.passive.order else "",
        "transact_time": leg.transact_time if leg is not None else None,
    }


def apply_trades(trades: Sequence[r.Trade]) -> Applied:
    """Trade capture reports. BUSTED is final: once there, a trade stays, and the first time it
    gets there its fills are reversed."""
    rows: dict[str, dict[str, Any]] = {}
    for trade in trades:
        row = _trade_row(trade)
        held = rows.get(row["exchange_id"])
        if held is None or held["state"] != "BUSTED":
            rows[row["exchange_id"]] = row
    if not rows:
        return Applied(0, None)
    ids = list(rows)
    placeholders = ", ".join(["%s"] * len(ids))
    before = dict(
        execute(
            f"SELECT exchange_id, state FROM trading_trade WHERE exchange_id IN ({placeholders})",  # noqa: S608
            ids,
        )
    )
    now = timezone.now()
    for row in rows.values():
        row["busted_at"] = now if row["state"] == "BUSTED" else None
    names = [name for name, _ in TRADE_COLUMNS]
    columns = (*TRADE_COLUMNS, ("busted_at", "timestamptz"))
    x = staged("trade", columns, rows.values())
    execute(
        f"{x.prefix}INSERT INTO trading_trade ({', '.join(names)}, busted_at) "  # noqa: S608
        f"SELECT {', '.join('x.' + n for n, _ in columns)} FROM {x.source}"
        f"{where_true()} ON CONFLICT (exchange_id) DO UPDATE SET state = excluded.state, "
        "busted_at = excluded.busted_at WHERE trading_trade.state <> 'BUSTED'",
        x.params,
    )
    busted = [
        i for i, row in rows.items() if row["state"] == "BUSTED" and before.get(i) != "BUSTED"
    ]
    if busted:
        marks = ", ".join(["%s"] * len(busted))
        reversed_fills = execute(
            "UPDATE trading_execution SET busted = %s "  # noqa: S608 - placeholders only
            f"WHERE trade_id IN ({marks}) AND busted = %s "
            "RETURNING trade_date, exec_type, last_shares, last_px, busted",
            [True, *busted, False],
        )
        _count_days(reversed_fills, sign=-1, busting=True)
    new = sum(1 for i in ids if i not in before)
    return Applied(new, _latest(row["transact_time"] for row in rows.values()))


# --- positions ---------------------------------------------------------------------------------

POSITION_COLUMNS = (
    ("account", "text"),
    ("symbol", "text"),
    ("net_position", "numeric"),
    ("qty_bought", "numeric"),
    ("qty_sold", "numeric"),
    ("bod_position", "numeric"),
    ("cost", "numeric"),
    ("realized", "numeric"),
    ("expired", "boolean"),
    ("change_time", "timestamptz"),
)


def apply_positions(changes: Sequence[PositionChange]) -> Applied:
    """Each position as it stood after its newest change in the batch."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for change in changes:
        p = change.position
        when = change.change_time or p.update_time
        if when is None:
            continue
        key = (p.account, p.symbol)
        held = rows.get(key)
        if held is not None and held["change_time"] > when:
            continue
        rows[key] = {
            "account": p.account,
            "symbol": p.symbol,
            "net_position": p.net_position,
            "qty_bought": p.qty_bought,
            "qty_sold": p.qty_sold,
            "bod_position": p.bod_position,
            "cost": p.cost,
            "realized": p.realized,
            "expired": p.expired,
            "change_time": when,
        }
    if rows:
        names = [name for name, _ in POSITION_COLUMNS]
        updates = ", ".join(f"{n} = excluded.{n}" for n in names[2:])
        x = staged("position", POSITION_COLUMNS, rows.values())
        execute(
            f"{x.prefix}INSERT INTO trading_position ({', '.join(names)}) "  # noqa: S608
            f"SELECT {', '.join('x.' + n for n in names)} FROM {x.source}"
            f"{where_true()} ON CONFLICT (account, symbol) DO UPDATE SET {updates} "
            "WHERE excluded.change_time >= trading_position.change_time",
            x.params,
        )
    return Applied(len(rows), _latest(row["change_time"] for row in rows.values()))


# --- instruments -------------------------------------------------------------------------------

INSTRUMENT_COLUMNS = (
    ("symbol", "text"),
    ("description", "text"),
    ("state", "text"),
    ("price_scale", "integer"),
    ("qty_scale", "integer"),
    ("tick_size", "numeric"),
    ("minimum_trade_qty", "numeric"),
    ("price_limit_low", "numeric"),
    ("price_limit_high", "numeric"),
    ("expiration_date", "date"),
    ("event_id", "text"),
    ("question", "text"),
    ("exchange_updated_at", "timestamptz"),
    ("synced_at", "timestamptz"),
)


def apply_instruments(instruments: Sequence[r.Instrument]) -> Applied:
    """Reference data and instrument states: an instrument is replaced by a newer report of it
    (or one without an update time, which the exchange sends for a snapshot)."""
    now = timezone.now()
    rows = {
        i.symbol: {
            "symbol": i.symbol,
            "description": i.description[:500],
            "state": short(i.state, "INSTRUMENT_STATE_"),
            "price_scale": i.price_scale,
            "qty_scale": i.qty_scale,
            "tick_size": i.tick_size,
            "minimum_trade_qty": i.minimum_trade_qty,
            "price_limit_low": i.price_limit_low,
            "price_limit_high": i.price_limit_high,
            "expiration_date": i.expiration_date,
            "event_id": i.event_id[:200],
            "question": i.question[:500],
            "exchange_updated_at": i.update_time,
            "synced_at": now,
        }
        for i in instruments
    }
    if rows:
        names = [name for name, _ in INSTRUMENT_COLUMNS]
        updates = ", ".join(f"{n} = excluded.{n}" for n in names[1:])
        x = staged("instrument", INSTRUMENT_COLUMNS, rows.values())
        execute(
            f"{x.prefix}INSERT INTO trading_instrument ({', '.join(names)}) "  # noqa: S608
            f"SELECT {', '.join('x.' + n for n in names)} "
            f"FROM {x.source}{where_true()} "
            f"ON CONFLICT (symbol) DO UPDATE SET {updates} WHERE "
            "excluded.exchange_updated_at IS NULL OR trading_instrument.exchange_updated_at IS NULL "
            "OR excluded.exchange_updated_at >= trading_instrument.exchange_updated_at",
            x.params,
        )
    return Applied(len(rows), _latest(i.update_time for i in instruments))
