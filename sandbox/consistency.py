"""Whether a store agrees with itself, as the exchange's books must, whatever wrote them.

The benchmarks that build on a bulk fill (reconciliation above all) rely on these holding:

* each order's filled quantity is the sum of its fills, and each trade's two executions carry the
  trade's price and quantity;
* replaying every fill in seq order with the engine gives, for each position still open to
  trading (not expired by a settlement), its net position, quantities bought and sold and
  realized - cost, and for each fill the cash and fee the balance ledger booked for it (in a
  store without busted trades: a bust's reversal depends on when it happened);
* each position is its last position-ledger entry;
* each account's balance-ledger entries chain (each starts where the last ended) and end at the
  account's balance.

`problems(db)` lists what does not hold (at most `limit` lines); an empty list means all of it.
Memory stays at one entry per position and per account, whatever the number of executions.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal

from sandbox import instruments
from sandbox.engine.enums import Side
from sandbox.engine.fixedpoint import InstrumentSpec
from sandbox.engine.positions import Position, apply_fill, fill_cash_delta


def problems(db: sqlite3.Connection, limit: int = 20) -> list[str]:
    found: list[str] = []
    for check in (_orders_and_trades, _fills, _positions, _balances):
        found += check(db)
        if len(found) >= limit:
            break
    return found[:limit]


def _orders_and_trades(db: sqlite3.Connection) -> list[str]:
    found = [
        f"order {r['id']}: cumQty {r['cum_qty']} but its fills add up to {r['filled']}"
        for r in db.execute(
            "SELECT o.id, o.cum_qty, COALESCE(f.qty, 0) AS filled FROM orders o LEFT JOIN "
            "(SELECT order_id, SUM(last_shares) AS qty FROM executions "
            "WHERE type IN ('FILL', 'PARTIAL_FILL') "
            "GROUP BY order_id) f ON f.order_id = o.id WHERE o.cum_qty != COALESCE(f.qty, 0)"
        )
    ]
    found += [
        f"trade {r['id']}: its executions do not carry its price and quantity"
        for r in db.execute(
            "SELECT t.id FROM trades t LEFT JOIN executions a ON a.id = t.aggressor_exec "
            "LEFT JOIN executions p ON p.id = t.passive_exec WHERE a.id IS NULL OR p.id IS NULL "
            "OR a.last_px != t.price OR p.last_px != t.price OR a.last_shares != t.qty "
            "OR p.last_shares != t.qty"
        )
    ]
    return found


class _Replay:
    """Positions rebuilt from fills, and the cash each fill should have moved."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.positions: dict[tuple[str, str], Position] = {}
        self.specs: dict[str, InstrumentSpec] = {}

    def spec(self, symbol: str) -> InstrumentSpec:
        if symbol not in self.specs:
            self.specs[symbol] = instruments.instrument_spec(self.db, symbol)
        return self.specs[symbol]

    def fill(self, account: str, symbol: str, side: Side, qty: int, price: int) -> Decimal:
        """Apply the fill; returns the cash it moves."""
        before = self.positions.get((account, symbol)) or Position(account, symbol)
        cash = fill_cash_delta(self.spec(symbol), before.net_position, side, qty, price)
        self.positions[(account, symbol)], _ = apply_fill(before, side, qty, price)
        return cash


def _fills(db: sqlite3.Connection) -> list[str]:
    if db.execute("SELECT 1 FROM trades WHERE state = 'BUSTED' LIMIT 1").fetchone():
        return []
    replay = _Replay(db)
    found: list[str] = []
    rows = db.execute(
        "SELECT e.id, e.account, e.symbol, o.side, e.last_shares, e.last_px, e.commission, "
        "x.before_balance AS x_before, x.after_balance AS x_after, "
        "c.before_balance AS c_before, c.after_balance AS c_after FROM executions e "
        "JOIN orders o ON o.id = e.order_id "
        "LEFT JOIN balance_ledger x ON x.ref = e.id AND x.entry_type = 'ORDER_EXECUTION' "
        "LEFT JOIN balance_ledger c ON c.ref = e.id AND c.entry_type = 'COMMISSION' "
        "WHERE e.type IN ('FILL', 'PARTIAL_FILL') ORDER BY e.seq"
    )
    for r in rows:
        side = Side.from_wire(r["side"])
        cash = replay.fill(r["account"], r["symbol"], side, r["last_shares"], r["last_px"])
        booked = _change(r["x_before"], r["x_after"])
        if booked != cash:
            found.append(f"execution {r['id']}: the ledger booked {booked} for a fill worth {cash}")
        fee = replay.spec(r["symbol"]).dollars(r["commission"])
        if _change(r["c_before"], r["c_after"]) != -fee:
            found.append(f"execution {r['id']}: the ledger's commission is not its fee {fee}")
    for row in db.execute("SELECT * FROM positions WHERE expired = 0"):
        mine = replay.positions.get((row["account"], row["symbol"]))
        mine = mine or Position(row["account"], row["symbol"])
        figures = (row["net_position"], row["qty_bought"], row["qty_sold"])
        if figures != (mine.net_position, mine.qty_bought, mine.qty_sold) or (
            row["realized"] - row["cost"] != mine.realized - mine.cost
        ):
            found.append(f"position {row['account']} {row['symbol']}: not what its fills imply")
    return found


def _change(before: str | None, after: str | None) -> Decimal:
    if before is None or after is None:
        return Decimal(0)
    return Decimal(after) - Decimal(before)


def _positions(db: sqlite3.Connection) -> list[str]:
    return [
        f"position {r['account']} {r['symbol']}: not its last position-ledger entry"
        for r in db.execute(
            "SELECT p.account, p.symbol FROM positions p JOIN position_ledger l ON l.seq = "
            "(SELECT MAX(seq) FROM position_ledger WHERE account = p.account AND symbol = p.symbol) "
            "WHERE p.net_position != l.net_position OR p.cost != l.cost "
            "OR p.realized != l.realized"
        )
    ]


def _balances(db: sqlite3.Connection) -> list[str]:
    found: list[str] = []
    balances = {
        r["account"]: Decimal(r["balance"])
        for r in db.execute("SELECT account, balance FROM balances")
    }
    account, last = None, Decimal(0)
    rows = db.execute(
        "SELECT account, before_balance, after_balance FROM balance_ledger ORDER BY account, seq"
    )
    for r in rows:
        if r["account"] != account:
            if account is not None and balances.pop(account, None) != last:
                found.append(f"account {account}: its balance is not its ledger's last entry")
            account, last = r["account"], Decimal(0)
        if Decimal(r["before_balance"]) != last:
            found.append(f"account {account}: a ledger entry does not start where the last ended")
        last = Decimal(r["after_balance"])
    if account is not None and balances.pop(account, None) != last:
        found.append(f"account {account}: its balance is not its ledger's last entry")
    found += [f"account {a}: a balance with no ledger" for a, b in balances.items() if b != 0]
    return found
