"""What each stream replays and follows: a log of the store, read in `seq` order, as messages.

Every feed is an append-only table whose `seq` only grows and commits in order (one writer at a
time), so a position in it is a complete cursor: a stream that has delivered (or passed over)
everything up to `seq` n and then reads `seq > n` can neither skip nor reorder an event. The logs
are the journal's executions, the balance and position ledgers, and the change logs the store's
triggers keep of trades, instrument states and cash movements.

`read` looks only up to a head read beforehand (`seq <= upto`): rows committed while it reads wait
for the next call, so a cursor never moves past a row it has not seen.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

from google.protobuf.message import Message

from polymarket.v1 import (
    dropcopy_pb2,
    funding_pb2,
    order_pb2,
    position_pb2,
    refdata_pb2,
    report_pb2,
)
from sandbox import ledger, wire
from sandbox.market import instrument_json
from sandbox.messages import execution_json, order_json, trade_json
from sandbox.positions import position_json
from sandbox.streams.protos import from_json, timestamp


@dataclass(frozen=True)
class Scope:
    """Whose events a stream carries. Empty tuples mean no narrowing."""

    firm_id: str
    symbols: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    # Balance ledger: entry types (short names); funding: cash movement reasons.
    kinds: tuple[str, ...] = ()
    currency: str = ""


def sql_in(column: str, values: tuple[str, ...]) -> tuple[str, list[Any]]:
    if not values:
        return "", []
    return f" AND {column} IN ({','.join('?' * len(values))})", list(values)


M = TypeVar("M", bound=Message)


class Feed(Generic[M]):
    table = ""
    time_column = ""

    def head(self, db: sqlite3.Connection) -> int:
        row = db.execute(f"SELECT MAX(seq) FROM {self.table}").fetchone()  # noqa: S608 - fixed
        return int(row[0] or 0)

    def position_at(self, db: sqlite3.Connection, moment: str, scope: Scope) -> int:
        """The cursor before the first row at or after `moment` (the head when there is none)."""
        row = db.execute(
            f"SELECT MIN(seq) FROM {self.table} WHERE {self.time_column} >= ?",  # noqa: S608
            (moment,),
        ).fetchone()
        return self.head(db) if row[0] is None else int(row[0]) - 1

    def read(
        self, db: sqlite3.Connection, after: int, upto: int, limit: int, scope: Scope
    ) -> list[tuple[int, M]]:
        """Up to `limit` events of `scope` with after < seq <= upto, in order, with their seq."""
        raise NotImplementedError


class Executions(Feed[report_pb2.Execution]):
    """Drop Copy: every execution on an account of the firm (and the order stream's updates)."""

    table, time_column = "executions", "transact_time"

    def read(
        self, db: sqlite3.Connection, after: int, upto: int, limit: int, scope: Scope
    ) -> list[tuple[int, report_pb2.Execution]]:
        symbols, symbol_params = sql_in("e.symbol", scope.symbols)
        accounts, account_params = sql_in("e.account", scope.accounts)
        # CROSS JOIN keeps SQLite walking executions in seq order (the index it must follow).
        rows = db.execute(
            "SELECT e.* FROM executions e CROSS JOIN accounts a ON a.account = e.account "  # noqa: S608
            f"WHERE e.seq > ? AND e.seq <= ? AND a.firm_id = ?{symbols}{accounts} "
            "ORDER BY e.seq LIMIT ?",
            [after, upto, scope.firm_id, *symbol_params, *account_params, limit],
        ).fetchall()
        return [(r["seq"], from_json(report_pb2.Execution, execution_json(r))) for r in rows]


class Trades(Feed[report_pb2.Trade]):
    """Trade capture: each trade when it clears, and again (same id, new state) when busted."""

    table, time_column = "trade_log", "at"

    def read(
        self, db: sqlite3.Connection, after: int, upto: int, limit: int, scope: Scope
    ) -> list[tuple[int, report_pb2.Trade]]:
        symbols, params = sql_in("t.symbol", scope.symbols)
        rows = db.execute(
            # The log's seq and state come first: a row answers a name with its first column.
            "SELECT l.seq AS seq, l.state AS state, t.* "  # noqa: S608
            "FROM trade_log l CROSS JOIN trades t ON t.id = l.trade_id "
            "WHERE l.seq > ? AND l.seq <= ? AND EXISTS (SELECT 1 FROM accounts a WHERE "
            "a.firm_id = ? AND a.account IN (t.aggressor_account, t.passive_account))"
            f"{symbols} ORDER BY l.seq LIMIT ?",
            [after, upto, scope.firm_id, *params, limit],
        ).fetchall()
        return [(r["seq"], from_json(report_pb2.Trade, trade_json(db, r, False))) for r in rows]


class Positions(Feed[dropcopy_pb2.PositionChange]):
    """Position changes: the position as it stood after each change, on the firm's accounts."""

    table, time_column = "position_ledger", "update_time"

    def read(
        self, db: sqlite3.Connection, after: int, upto: int, limit: int, scope: Scope
    ) -> list[tuple[int, dropcopy_pb2.PositionChange]]:
        symbols, params = sql_in("p.symbol", scope.symbols)
        rows = db.execute(
            "SELECT p.* FROM position_ledger p CROSS JOIN accounts a ON a.account = p.account "  # noqa: S608
            f"WHERE p.seq > ? AND p.seq <= ? AND a.firm_id = ?{symbols} ORDER BY p.seq LIMIT ?",
            [after, upto, scope.firm_id, *params, limit],
        ).fetchall()
        return [(r["seq"], self._change(db, r)) for r in rows]

    @staticmethod
    def _change(db: sqlite3.Connection, row: sqlite3.Row) -> dropcopy_pb2.PositionChange:
        # Beginning of day: the position after the last change of an earlier business date.
        bod = db.execute(
            "SELECT net_position FROM position_ledger WHERE account = ? AND symbol = ? "
            "AND business_date < ? ORDER BY seq DESC LIMIT 1",
            (row["account"], row["symbol"], row["business_date"]),
        ).fetchone()
        position = dict(row) | {"bod_position": bod[0] if bod else 0}
        return dropcopy_pb2.PositionChange(
            position=from_json(position_pb2.Position, position_json(position)),
            change_time=timestamp(row["update_time"]),
        )


class Instruments(Feed[refdata_pb2.Instrument]):
    """Instrument states: every instrument's state as it changed (refdata: no firm scoping)."""

    table, time_column = "instrument_log", "at"

    def read(
        self, db: sqlite3.Connection, after: int, upto: int, limit: int, scope: Scope
    ) -> list[tuple[int, refdata_pb2.Instrument]]:
        symbols, params = sql_in("l.symbol", scope.symbols)
        rows = db.execute(
            # The state as of the change, first: a row answers a name with its first column.
            "SELECT l.seq AS seq, l.state AS state, l.at AS updated_at, i.* "  # noqa: S608
            "FROM instrument_log l CROSS JOIN instruments i ON i.symbol = l.symbol "
            f"WHERE l.seq > ? AND l.seq <= ?{symbols} ORDER BY l.seq LIMIT ?",
            [after, upto, *params, limit],
        ).fetchall()
        return [(r["seq"], _instrument(r)) for r in rows]

    def snapshot(self, db: sqlite3.Connection, scope: Scope) -> list[refdata_pb2.Instrument]:
        """Every instrument's current state."""
        symbols, params = sql_in("symbol", scope.symbols)
        rows = db.execute(
            f"SELECT * FROM instruments WHERE 1 = 1{symbols} ORDER BY symbol",  # noqa: S608
            params,
        ).fetchall()
        return [_instrument(r) for r in rows]


def _instrument(row: sqlite3.Row) -> refdata_pb2.Instrument:
    return from_json(refdata_pb2.Instrument, instrument_json(row, False))


class BalanceLedger(Feed[funding_pb2.BalanceLedgerEntry]):
    """One account's balance ledger (the scope's single account)."""

    table, time_column = "balance_ledger", "update_time"

    def position_at(self, db: sqlite3.Connection, moment: str, scope: Scope) -> int:
        row = db.execute(
            "SELECT MIN(seq) FROM balance_ledger WHERE account = ? AND update_time >= ?",
            (scope.accounts[0], moment),
        ).fetchone()
        return self.head(db) if row[0] is None else int(row[0]) - 1

    def read(
        self, db: sqlite3.Connection, after: int, upto: int, limit: int, scope: Scope
    ) -> list[tuple[int, funding_pb2.BalanceLedgerEntry]]:
        kinds, params = sql_in("entry_type", scope.kinds)
        currency = " AND currency = ?" if scope.currency else ""
        rows = db.execute(
            "SELECT * FROM balance_ledger WHERE account = ? AND seq > ? AND seq <= ?"  # noqa: S608
            f"{kinds}{currency} ORDER BY seq LIMIT ?",
            [
                scope.accounts[0],
                after,
                upto,
                *params,
                *([scope.currency] if scope.currency else []),
                limit,
            ],
        ).fetchall()
        return [
            (r["seq"], from_json(funding_pb2.BalanceLedgerEntry, ledger.entry_json(r)))
            for r in rows
        ]


# Partner transfers as funding transactions (API.md 8 #21: optional). Vendor-fee collections are
# transfers; an AMBIGUOUS movement is still being processed.
_TYPES = {
    "DEPOSIT": funding_pb2.TRANSACTION_TYPE_DEPOSIT,
    "WITHDRAWAL": funding_pb2.TRANSACTION_TYPE_WITHDRAWAL,
    "VENDOR_FEES": funding_pb2.TRANSACTION_TYPE_TRANSFER,
}
REASONS = {number: reason for reason, number in _TYPES.items()}
_STATES = {
    "": funding_pb2.TRANSACTION_STATE_PENDING,
    "PENDING": funding_pb2.TRANSACTION_STATE_PENDING,
    "AMBIGUOUS": funding_pb2.TRANSACTION_STATE_PROCESSING,
    "CONFIRMED": funding_pb2.TRANSACTION_STATE_COMPLETED,
    "REJECTED": funding_pb2.TRANSACTION_STATE_CANCELLED,
}
_LABELS = {"DEPOSIT": "Deposit", "WITHDRAWAL": "Withdrawal", "VENDOR_FEES": "Vendor fee collection"}


class FundingTransactions(Feed[funding_pb2.FundingTransactionChange]):
    """Each state a partner transfer passes through, on the participant's account."""

    table, time_column = "cash_movement_log", "at"

    def read(
        self, db: sqlite3.Connection, after: int, upto: int, limit: int, scope: Scope
    ) -> list[tuple[int, funding_pb2.FundingTransactionChange]]:
        accounts, account_params = sql_in("m.participant_account", scope.accounts)
        kinds, kind_params = sql_in("m.reason", scope.kinds)
        rows = db.execute(
            "SELECT l.seq, l.status AS log_status, l.previous_status, l.at, m.* "  # noqa: S608
            "FROM cash_movement_log l CROSS JOIN cash_movements m ON m.workflow_id = l.workflow_id "
            f"WHERE l.seq > ? AND l.seq <= ? AND m.firm_id = ?{accounts}{kinds} "
            "ORDER BY l.seq LIMIT ?",
            [after, upto, scope.firm_id, *account_params, *kind_params, limit],
        ).fetchall()
        return [(r["seq"], self._change(db, r)) for r in rows]

    @staticmethod
    def _change(db: sqlite3.Connection, row: sqlite3.Row) -> funding_pb2.FundingTransactionChange:
        account, status = row["participant_account"], row["log_status"]
        entry = None
        if status == "CONFIRMED":
            entry = db.execute(
                "SELECT before_balance, after_balance FROM balance_ledger "
                "WHERE ref = ? AND account = ?",
                (row["workflow_id"], account),
            ).fetchone()
        transaction = funding_pb2.FundingTransaction(
            transaction_id=row["workflow_id"],
            funding_transaction_id=row["dco_transfer_id"] if status == "CONFIRMED" else "",
            amount=wire.fmt_money(Decimal(row["amount"])),
            currency=row["currency"],
            description=f"{_LABELS[row['reason']]} {row['external_reference']}",
            ledger_entry_type=(
                "LEDGER_ENTRY_TYPE_CREDIT"
                if row["reason"] == "DEPOSIT"
                else "LEDGER_ENTRY_TYPE_DEBIT"
            ),
            transaction_type=_TYPES[row["reason"]],
            transaction_state=_STATES[status],
            transact_time=timestamp(row["created_at"]),
            account_id=account,
            before_balance=wire.fmt_money(Decimal(entry["before_balance"])) if entry else "",
            after_balance=wire.fmt_money(Decimal(entry["after_balance"])) if entry else "",
        )
        return funding_pb2.FundingTransactionChange(
            transaction=transaction,
            previous_state=_STATES[row["previous_status"]],
            change_time=timestamp(row["at"]),
        )


def open_orders(db: sqlite3.Connection, scope: Scope) -> list[order_pb2.Order]:
    """The order stream's snapshot: the open orders of the scope, oldest first."""
    symbols, symbol_params = sql_in("o.symbol", scope.symbols)
    accounts, account_params = sql_in("o.account", scope.accounts)
    rows = db.execute(
        "SELECT o.* FROM orders o JOIN accounts a ON a.account = o.account "  # noqa: S608
        "WHERE a.firm_id = ? AND o.state IN ('NEW', 'PARTIALLY_FILLED')"
        f"{symbols}{accounts} ORDER BY o.seq",
        [scope.firm_id, *symbol_params, *account_params],
    ).fetchall()
    return [from_json(order_pb2.Order, order_json(r)) for r in rows]
