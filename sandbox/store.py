"""The sandbox's state: one SQLite database in WAL mode under --data DIR.

Reads use one connection per thread; every write goes through `Store.write()`, which holds a single
process-wide lock around an IMMEDIATE transaction. One writer at a time keeps matching, idempotency
keys and balance checks race-free without any cleverness.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS firms (
    firm_id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    funding_account TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    currency TEXT NOT NULL DEFAULT 'USD',
    disabled INTEGER NOT NULL DEFAULT 0,
    webhook_url TEXT NOT NULL DEFAULT '',
    webhook_secret TEXT NOT NULL DEFAULT '',
    webhook_failures INTEGER NOT NULL DEFAULT 0,
    webhook_paused_until REAL NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS firm_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    firm_id TEXT NOT NULL REFERENCES firms(firm_id),
    kid TEXT NOT NULL DEFAULT '',
    public_pem TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS used_jti (
    client_id TEXT NOT NULL,
    jti TEXT NOT NULL,
    exp INTEGER NOT NULL,
    PRIMARY KEY (client_id, jti)
);

CREATE TABLE IF NOT EXISTS participants (
    participant_id TEXT PRIMARY KEY,
    firm_id TEXT NOT NULL,
    external_id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (firm_id, external_id)
);

CREATE TABLE IF NOT EXISTS accounts (
    account TEXT PRIMARY KEY,
    firm_id TEXT NOT NULL,
    participant_id TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,  -- participant | funding | house
    display_name TEXT NOT NULL,
    suspended INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS accounts_participant ON accounts (participant_id);
CREATE INDEX IF NOT EXISTS accounts_firm ON accounts (firm_id, kind);

CREATE TABLE IF NOT EXISTS balances (
    account TEXT NOT NULL,
    currency TEXT NOT NULL,
    balance TEXT NOT NULL,
    update_time TEXT NOT NULL,
    PRIMARY KEY (account, currency)
);

CREATE TABLE IF NOT EXISTS balance_ledger (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    account TEXT NOT NULL,
    currency TEXT NOT NULL,
    before_balance TEXT NOT NULL,
    after_balance TEXT NOT NULL,
    description TEXT NOT NULL,
    update_time TEXT NOT NULL,
    entry_type TEXT NOT NULL,
    symbol TEXT NOT NULL DEFAULT '',
    business_date TEXT NOT NULL,
    ref TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS balance_ledger_account ON balance_ledger (account, seq);

CREATE TABLE IF NOT EXISTS kyc (
    firm_id TEXT NOT NULL,
    external_id TEXT NOT NULL,
    eval_id TEXT NOT NULL,
    decision TEXT NOT NULL,
    status TEXT NOT NULL,
    sub_status TEXT NOT NULL,
    docv TEXT NOT NULL DEFAULT '',
    after_docv TEXT NOT NULL DEFAULT '',
    participant_id TEXT NOT NULL DEFAULT '',
    account TEXT NOT NULL DEFAULT '',
    provision_at REAL,
    display_name TEXT NOT NULL,
    date_of_birth TEXT NOT NULL,
    referral_code TEXT NOT NULL DEFAULT '',
    rejection_reason TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (firm_id, external_id)
);
CREATE INDEX IF NOT EXISTS kyc_provision ON kyc (provision_at);
-- Every evaluation ever started (a rejected applicant may be evaluated again), so that a client's
-- tests can count how often the exchange evaluated someone.
CREATE TABLE IF NOT EXISTS kyc_evaluations (
    firm_id TEXT NOT NULL,
    external_id TEXT NOT NULL,
    eval_id TEXT NOT NULL PRIMARY KEY,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS kyc_evaluations_of ON kyc_evaluations (firm_id, external_id);

CREATE TABLE IF NOT EXISTS prefill (
    firm_id TEXT NOT NULL,
    external_id TEXT NOT NULL,
    phone TEXT NOT NULL,
    date_of_birth TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (firm_id, external_id)
);

CREATE TABLE IF NOT EXISTS webhook_deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    firm_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL,  -- pending | delivered | failed
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL,
    last_status TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    delivered_at TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS webhook_due ON webhook_deliveries (state, next_at);

CREATE TABLE IF NOT EXISTS cash_movements (
    workflow_id TEXT PRIMARY KEY,
    firm_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    reason TEXT NOT NULL,
    participant_account TEXT NOT NULL,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    source_account TEXT NOT NULL,
    destination_account TEXT NOT NULL,
    status TEXT NOT NULL,
    dco_transfer_id TEXT NOT NULL DEFAULT '',
    rejection_reason TEXT NOT NULL DEFAULT '',
    external_reference TEXT NOT NULL,
    memo TEXT NOT NULL DEFAULT '',
    settle_at REAL,
    settle_outcome TEXT NOT NULL DEFAULT '',
    business_date TEXT NOT NULL,
    requested_by_firm INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (firm_id, idempotency_key)
);
CREATE INDEX IF NOT EXISTS cash_settle ON cash_movements (settle_at);

CREATE TABLE IF NOT EXISTS instruments (
    symbol TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    price_scale INTEGER NOT NULL,
    frac_scale INTEGER NOT NULL,
    tick_size TEXT NOT NULL,
    min_trade_qty INTEGER NOT NULL,
    price_low INTEGER NOT NULL,
    price_high INTEGER NOT NULL,
    state TEXT NOT NULL,
    event_id TEXT NOT NULL,
    question TEXT NOT NULL,
    settlement_px INTEGER,
    settlement_text TEXT NOT NULL DEFAULT '',
    settlement_time TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS orders (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    firm_id TEXT NOT NULL,
    account TEXT NOT NULL,
    participant TEXT NOT NULL,
    symbol TEXT NOT NULL,
    clord_id TEXT NOT NULL,
    side TEXT NOT NULL,
    type TEXT NOT NULL,
    time_in_force TEXT NOT NULL,
    price INTEGER NOT NULL,
    order_qty INTEGER NOT NULL,
    cash_order_qty INTEGER NOT NULL DEFAULT 0,
    cum_qty INTEGER NOT NULL DEFAULT 0,
    leaves_qty INTEGER NOT NULL,
    notional INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    good_till_time TEXT NOT NULL DEFAULT '',
    manual_order_indicator TEXT NOT NULL DEFAULT '',
    commission_total INTEGER NOT NULL DEFAULT 0,
    fee_state TEXT NOT NULL DEFAULT '{}',
    vendor_fee TEXT NOT NULL DEFAULT '',
    price_scale INTEGER NOT NULL,
    frac_scale INTEGER NOT NULL,
    fills TEXT NOT NULL DEFAULT '{}',
    last_trade_id TEXT NOT NULL DEFAULT '',
    is_house INTEGER NOT NULL DEFAULT 0,
    insert_time TEXT NOT NULL,
    last_transact_time TEXT NOT NULL,
    -- Time priority on the book: 0 means the order's seq (its arrival); a replace that loses
    -- priority gives it a fresh number from the orders' own sequence (see book.replace).
    priority INTEGER NOT NULL DEFAULT 0,
    cross_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS orders_book ON orders (symbol, state);
CREATE INDEX IF NOT EXISTS orders_account ON orders (account, seq);

CREATE TABLE IF NOT EXISTS executions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    order_id TEXT NOT NULL,
    account TEXT NOT NULL,
    symbol TEXT NOT NULL,
    type TEXT NOT NULL,
    last_shares INTEGER NOT NULL DEFAULT 0,
    last_px INTEGER NOT NULL DEFAULT 0,
    trade_id TEXT NOT NULL DEFAULT '',
    aggressor INTEGER NOT NULL DEFAULT 0,
    commission INTEGER NOT NULL DEFAULT 0,
    text TEXT NOT NULL DEFAULT '',
    reject_reason TEXT NOT NULL DEFAULT '',
    transact_time TEXT NOT NULL,
    trade_date TEXT NOT NULL,
    order_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS executions_account ON executions (account, seq);
CREATE INDEX IF NOT EXISTS executions_order ON executions (order_id);

CREATE TABLE IF NOT EXISTS trades (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    symbol TEXT NOT NULL,
    aggressor_exec TEXT NOT NULL,
    passive_exec TEXT NOT NULL,
    aggressor_account TEXT NOT NULL,
    passive_account TEXT NOT NULL,
    state TEXT NOT NULL,
    price INTEGER NOT NULL,
    qty INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    trade_type TEXT NOT NULL DEFAULT 'REGULAR'
);
CREATE INDEX IF NOT EXISTS trades_aggr ON trades (aggressor_account);
CREATE INDEX IF NOT EXISTS trades_pass ON trades (passive_account);
CREATE INDEX IF NOT EXISTS trades_symbol ON trades (symbol, created_at);

CREATE TABLE IF NOT EXISTS positions (
    account TEXT NOT NULL,
    symbol TEXT NOT NULL,
    net_position INTEGER NOT NULL DEFAULT 0,
    qty_bought INTEGER NOT NULL DEFAULT 0,
    qty_sold INTEGER NOT NULL DEFAULT 0,
    cost INTEGER NOT NULL DEFAULT 0,
    realized INTEGER NOT NULL DEFAULT 0,
    bod_position INTEGER NOT NULL DEFAULT 0,
    expired INTEGER NOT NULL DEFAULT 0,
    update_time TEXT NOT NULL,
    PRIMARY KEY (account, symbol)
);

CREATE TABLE IF NOT EXISTS position_ledger (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    account TEXT NOT NULL,
    symbol TEXT NOT NULL,
    quantity_change INTEGER NOT NULL,
    cost_change INTEGER NOT NULL,
    realized_change INTEGER NOT NULL,
    net_position INTEGER NOT NULL,
    cost INTEGER NOT NULL,
    realized INTEGER NOT NULL,
    update_time TEXT NOT NULL,
    business_date TEXT NOT NULL,
    description TEXT NOT NULL,
    ref TEXT NOT NULL DEFAULT '',
    -- The rest of the position after the change, so the ledger alone answers "as of" questions.
    qty_bought INTEGER NOT NULL DEFAULT 0,
    qty_sold INTEGER NOT NULL DEFAULT 0,
    expired INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS position_ledger_ref ON position_ledger (ref);
CREATE INDEX IF NOT EXISTS balance_ledger_ref ON balance_ledger (ref);
CREATE INDEX IF NOT EXISTS position_ledger_account ON position_ledger (account, seq);

CREATE TABLE IF NOT EXISTS vendor_orders (
    firm_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    funding_request_id TEXT NOT NULL,
    order_id TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    clord_id TEXT NOT NULL,
    account TEXT NOT NULL,
    vendor_fee TEXT NOT NULL,
    currency TEXT NOT NULL,
    business_date TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (firm_id, idempotency_key)
);

-- Change logs the streams replay (sandbox/streams/). Triggers write them in the transaction of the
-- change itself, so no code path that changes a trade, an instrument's state or a cash movement
-- can leave a stream behind. Executions, the balance ledger and the position ledger are logs already.
CREATE TABLE IF NOT EXISTS trade_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    trade_id TEXT NOT NULL,
    state TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS trade_logged AFTER INSERT ON trades BEGIN
    INSERT INTO trade_log (trade_id, state, at) VALUES (NEW.id, NEW.state, NEW.created_at);
END;
CREATE TRIGGER IF NOT EXISTS trade_state_logged AFTER UPDATE OF state ON trades
WHEN NEW.state IS NOT OLD.state BEGIN
    INSERT INTO trade_log (trade_id, state, at)
    VALUES (NEW.id, NEW.state, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
END;

-- Position changes are the position ledger's rows (it carries the whole position after each
-- change); the copy an earlier version kept is dropped.
DROP TRIGGER IF EXISTS position_logged;
DROP TRIGGER IF EXISTS position_change_logged;
DROP TABLE IF EXISTS position_log;

CREATE TABLE IF NOT EXISTS instrument_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    symbol TEXT NOT NULL,
    state TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS instrument_logged AFTER INSERT ON instruments BEGIN
    INSERT INTO instrument_log (symbol, state, at) VALUES (NEW.symbol, NEW.state, NEW.updated_at);
END;
CREATE TRIGGER IF NOT EXISTS instrument_state_logged AFTER UPDATE OF state ON instruments
WHEN NEW.state IS NOT OLD.state BEGIN
    INSERT INTO instrument_log (symbol, state, at) VALUES (NEW.symbol, NEW.state, NEW.updated_at);
END;

CREATE TABLE IF NOT EXISTS cash_movement_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow_id TEXT NOT NULL,
    status TEXT NOT NULL,
    previous_status TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cash_movement_log_at ON cash_movement_log (at);
CREATE TRIGGER IF NOT EXISTS cash_movement_logged AFTER INSERT ON cash_movements BEGIN
    INSERT INTO cash_movement_log (workflow_id, status, previous_status, at)
    VALUES (NEW.workflow_id, NEW.status, '', NEW.created_at);
END;
CREATE TRIGGER IF NOT EXISTS cash_movement_status_logged AFTER UPDATE OF status ON cash_movements
WHEN NEW.status IS NOT OLD.status BEGIN
    INSERT INTO cash_movement_log (workflow_id, status, previous_status, at)
    VALUES (NEW.workflow_id, NEW.status, OLD.status, NEW.updated_at);
END;
"""

# Seconds between looks for commits made by other processes, while waiting for one.
OUTSIDE_POLL = 0.1

# Columns added since the first release: a data directory made before them gains them on start
# (with their defaults), so `--data` keeps working across upgrades.
ADDED_COLUMNS = (
    ("orders", "priority", "INTEGER NOT NULL DEFAULT 0"),
    ("orders", "cross_id", "TEXT NOT NULL DEFAULT ''"),
    ("trades", "trade_type", "TEXT NOT NULL DEFAULT 'REGULAR'"),
    ("position_ledger", "qty_bought", "INTEGER NOT NULL DEFAULT 0"),
    ("position_ledger", "qty_sold", "INTEGER NOT NULL DEFAULT 0"),
    ("position_ledger", "expired", "INTEGER NOT NULL DEFAULT 0"),
)


def _upgrade(db: sqlite3.Connection) -> None:
    for table, column, declaration in ADDED_COLUMNS:
        present = {row["name"] for row in db.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")


class Store:
    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / "sandbox.sqlite3"
        self.lock = threading.RLock()
        self._local = threading.local()
        # Bumped after every commit; streams wait on it for news instead of polling.
        self.committed = threading.Condition()
        self.commits = 0
        with self.lock:
            self.db.executescript(SCHEMA)
            _upgrade(self.db)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        return db

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's connection, for reads (WAL lets them run beside the writer)."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = self._connect()
            self._local.db = db
            self._local.data_version = db.execute("PRAGMA data_version").fetchone()[0]
        return db

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One transaction under the process-wide write lock; nested calls join the outer one."""
        with self.lock:
            depth: int = getattr(self._local, "depth", 0)
            db = self.db
            if depth:
                self._local.depth = depth + 1
                try:
                    yield db
                finally:
                    self._local.depth = depth
                return
            self._local.depth = 1
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            else:
                db.execute("COMMIT")
                self.notify()
            finally:
                self._local.depth = 0

    def notify(self) -> None:
        """Wake everyone waiting in `wait_for_commit` (also used to make them look at a flag)."""
        with self.committed:
            self.commits += 1
            self.committed.notify_all()

    def wait_for_commit(self, seen: int, timeout: float) -> int:
        """Block until a commit after `seen` (a value of `commits`) or `timeout`; the new value.

        Commits made by another process on the same database (`simulate --steady` beside a
        serving sandbox) count too: SQLite's data_version on this thread's connection, looked at
        every OUTSIDE_POLL seconds, tells when anyone else has committed."""
        deadline = time.monotonic() + timeout
        with self.committed:
            while self.commits == seen:
                if self._changed_elsewhere():
                    self.commits += 1
                    self.committed.notify_all()
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.committed.wait(min(left, OUTSIDE_POLL))
            return self.commits

    def _changed_elsewhere(self) -> bool:
        """Whether another connection committed since this thread's connection last looked."""
        version = self.db.execute("PRAGMA data_version").fetchone()[0]
        changed = version != self._local.data_version
        self._local.data_version = version
        return bool(changed)

    def meta_get(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["value"])

    def meta_set(self, key: str, value: str) -> None:
        with self.write() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None
