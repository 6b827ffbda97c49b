"""Activity written straight to the store in bulk (`executemany`), for demos and benchmarks.

`onboard` creates approved participants (KYC closed, participant and account provisioned) funded
by deposits from the firm's pool. `trade` writes a trading history between them: each trade is a
resting LIMIT order (the maker) taken in full by an IMMEDIATE_OR_CANCEL order (the taker), i.e.
four executions (NEW and FILL of each order), one trade, two position changes and the balance
ledger's ORDER_EXECUTION and COMMISSION entries of both sides. Every figure comes from the engine
(`check_order` to accept an order, fees, positions, the cash of a fill) and every row from the same
builders the order book uses, so the store agrees with itself as if each order had gone through
the API: positions are what the fills imply, balances what the ledger sums to.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sandbox import book, firms, instruments, journal, ledger, wire
from sandbox.engine.collateral import check_order
from sandbox.engine.enums import ExecutionType, Liquidity, OrderType, Side, TimeInForce
from sandbox.engine.fixedpoint import InstrumentSpec
from sandbox.engine.ids import ID_ALPHABET
from sandbox.engine.matching import IncomingOrder
from sandbox.engine.positions import Position
from sandbox.order_input import OrderRequest
from sandbox.store import Store

BATCH_TRADES = 5_000  # trades written per transaction
# Draws in a row with no pair of participants able to pay for the trade, after which the
# participants are taken to have run out of cash and trading stops.
MAX_DRAWS = 1_000
AUTOMATED = "MANUAL_ORDER_INDICATOR_AUTOMATED"


@dataclass
class Trader:
    participant: str
    account: str
    cash: Decimal
    updated: str  # when the cash last changed
    positions: dict[str, Position] = field(default_factory=dict)


class Ids:
    """Exchange ids (12 characters of [0-9A-Z]) that never repeat: a counter multiplied by a
    number prime to 36 is a permutation of the 36**12 ids, so they look drawn at random but are
    all different; meeting one the order book drew at random is as likely as two of those
    meeting."""

    SPACE = 36**12
    SCRAMBLE = 1_000_000_007
    PAIRS = [a + b for a in ID_ALPHABET for b in ID_ALPHABET]  # two characters at a time

    def __init__(self, rng: random.Random) -> None:
        self.counter = rng.randrange(self.SPACE)

    def __call__(self) -> str:
        self.counter += 1
        value = self.counter * self.SCRAMBLE % self.SPACE
        pairs = []
        for _ in range(6):
            value, pair = divmod(value, 1296)
            pairs.append(self.PAIRS[pair])
        return "".join(pairs)


def onboard(
    db: sqlite3.Connection,
    *,
    firm_id: str,
    pool: str,
    deposits: list[Decimal],
    tag: str,
    stamp: str,
) -> list[Trader]:
    """Approved participants with one deposit each from the firm's pool, which must hold them."""
    day = wire.business_date(wire.parse_ts(stamp, "stamp")).isoformat()
    pool_balance = ledger.balance(db, pool)
    kyc_rows, participant_rows, account_rows, movements, entries = [], [], [], [], []
    traders: list[Trader] = []
    for index, amount in enumerate(deposits):
        external = f"sim-{tag}-{index:06d}"
        pid = firms.participant_id(firm_id, external)
        account = firms.new_account_name(firm_id)
        name = f"Simulated Participant {index}"
        traders.append(Trader(pid, account, amount, stamp))
        decision = ("ACCEPT", "CLOSED", "Accept")
        kyc_rows.append(
            (firm_id, external, "kyc_" + wire.ulid(), *decision, pid, account, name, "1990-01-01")
        )
        participant_rows.append((pid, firm_id, external, name, stamp))
        account_rows.append((account, firm_id, pid, "participant", f"{name} trading", stamp))
        workflow = wire.workflow_id()
        key = f"sim-deposit-{external}"
        request = (workflow, firm_id, key, wire.canonical({"sim": key}), "DEPOSIT", account)
        legs = (str(amount), "USD", pool, account, "CONFIRMED", "dco_" + wire.ulid())
        movements.append((*request, *legs, f"sim-{index}", day, stamp, stamp))
        deposit = {"entry_type": "DEPOSIT", "description": f"Deposit sim-{index}"}
        deposit |= {"stamp": stamp, "business_date": day, "ref": workflow}
        entries.append(
            ledger.entry_row("bl_" + wire.ulid(), account, Decimal(0), amount, **deposit)
        )
        entries.append(
            ledger.entry_row(
                "bl_" + wire.ulid(), pool, pool_balance, pool_balance - amount, **deposit
            )
        )
        pool_balance -= amount
    db.executemany(
        "INSERT INTO kyc (firm_id, external_id, eval_id, decision, status, sub_status, "
        "participant_id, account, display_name, date_of_birth, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(*row, stamp, stamp) for row in kyc_rows],
    )
    db.executemany(
        "INSERT INTO participants (participant_id, firm_id, external_id, display_name, "
        "created_at) VALUES (?, ?, ?, ?, ?)",
        participant_rows,
    )
    db.executemany(
        "INSERT INTO accounts (account, firm_id, participant_id, kind, display_name, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?)",
        account_rows,
    )
    db.executemany(
        "INSERT INTO cash_movements (workflow_id, firm_id, idempotency_key, request_hash, "
        "reason, participant_account, amount, currency, source_account, destination_account, "
        "status, dco_transfer_id, external_reference, business_date, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        movements,
    )
    db.executemany(ledger.INSERT_ENTRY, entries)
    balances = [(t.account, "USD", str(t.cash), stamp) for t in traders]
    db.executemany(ledger.UPSERT_BALANCE, [*balances, (pool, "USD", str(pool_balance), stamp)])
    return traders


@dataclass
class Batch:
    """The rows of some trades, written together."""

    orders: list[dict[str, Any]] = field(default_factory=list)
    executions: list[tuple[Any, ...]] = field(default_factory=list)
    trades: list[tuple[Any, ...]] = field(default_factory=list)
    positions: list[tuple[Any, ...]] = field(default_factory=list)
    changes: list[tuple[Any, ...]] = field(default_factory=list)
    entries: list[tuple[Any, ...]] = field(default_factory=list)
    touched: dict[str, Trader] = field(default_factory=dict)

    def write(self, db: sqlite3.Connection) -> None:
        if self.orders:
            book.insert_orders(db, self.orders)
        db.executemany(journal.INSERT_EXECUTION, self.executions)
        db.executemany(journal.INSERT_TRADE, self.trades)
        db.executemany(journal.UPSERT_POSITION, self.positions)
        db.executemany(journal.INSERT_POSITION_CHANGE, self.changes)
        db.executemany(ledger.INSERT_ENTRY, self.entries)
        db.executemany(
            ledger.UPSERT_BALANCE,
            [(t.account, "USD", str(t.cash), t.updated) for t in self.touched.values()],
        )


class Market:
    """What `trade` draws from: instruments, and prices and sizes near the middle of each."""

    def __init__(self, db: sqlite3.Connection, symbols: list[str]) -> None:
        self.specs = [instruments.instrument_spec(db, s) for s in symbols]

    def draw(self, rng: random.Random) -> tuple[InstrumentSpec, int, int]:
        spec = rng.choice(self.specs)
        step = int(spec.tick_step)
        low, high = spec.price_scale * 30 // 100, spec.price_scale * 70 // 100
        price = rng.randrange(low // step, high // step + 1) * step
        qty = rng.randrange(1, 21) * spec.fractional_qty_scale
        return spec, price, qty


def _accepts(trader: Trader, spec: InstrumentSpec, side: Side, qty: int, price: int) -> bool:
    """Would the exchange accept this order from the trader (no other resting orders)?"""
    net = trader.positions.get(spec.symbol, Position(trader.account, spec.symbol)).net_position
    order = IncomingOrder(
        order_id="", account=trader.account, side=side, price=price, order_qty=qty
    )
    return check_order(spec, trader.cash, net, [], order).affordable


def moments(start: datetime, end: datetime, count: int) -> Iterator[datetime]:
    """`count` moments spread evenly up to `end`, from `start` or, if that leaves less than 2 ms
    between them (a trade takes two), from earlier."""
    step = max((end - start) / max(count, 1), timedelta(milliseconds=2))
    start = min(start, end - step * count)
    for index in range(count):
        yield start + step * index


def trade(
    store: Store,
    traders: list[Trader],
    *,
    symbols: list[str],
    trades: int,
    start: datetime,
    end: datetime,
    rng: random.Random,
    firm_id: str,
) -> tuple[int, int]:
    """Write up to `trades` trades between random pairs of `traders` over [start, end), one
    transaction per batch; returns how many were written, and how many drawn orders the exchange
    would have refused for want of cash (drawn again instead)."""
    ids = Ids(rng)
    with store.write() as db:
        market = Market(db, symbols)
    written = refused = 0
    batch = Batch()
    for moment in moments(start, end, trades):
        for _ in range(MAX_DRAWS):
            spec, price, qty = market.draw(rng)
            maker, taker = rng.sample(traders, 2)
            side = rng.choice((Side.BUY, Side.SELL))
            if _accepts(maker, spec, side.opposite, qty, price) and _accepts(
                taker, spec, side, qty, price
            ):
                break
            refused += 1
        else:
            break
        _one_trade(batch, ids, spec, maker, taker, side, qty, price, moment, firm_id)
        written += 1
        if len(batch.trades) >= BATCH_TRADES:
            with store.write() as db:
                batch.write(db)
            batch = Batch()
    if batch.trades:
        with store.write() as db:
            batch.write(db)
    return written, refused


def _one_trade(
    batch: Batch,
    ids: Ids,
    spec: InstrumentSpec,
    maker: Trader,
    taker: Trader,
    side: Side,
    qty: int,
    price: int,
    moment: datetime,
    firm_id: str,
) -> None:
    rests, takes = wire.ts(moment), wire.ts(moment + timedelta(milliseconds=1))
    day = wire.business_date(moment).isoformat()
    resting = _order(ids, spec, maker, side.opposite, qty, price, TimeInForce.GOOD_TILL_CANCEL)
    taking = _order(ids, spec, taker, side, qty, price, TimeInForce.IMMEDIATE_OR_CANCEL)
    resting_row = book.order_fields(
        resting,
        order_id=ids(),
        firm_id=firm_id,
        participant=maker.participant,
        spec=spec,
        stamp=rests,
    )
    taking_row = book.order_fields(
        taking,
        order_id=ids(),
        firm_id=firm_id,
        participant=taker.participant,
        spec=spec,
        stamp=takes,
    )
    for row, stamp in ((resting_row, rests), (taking_row, takes)):
        row["state"] = "NEW"
        batch.executions.append(journal.execution_row(ids(), row, ExecutionType.NEW, stamp, day))
    trade_id = ids()
    fills = []
    for row, trader, liquidity in (
        (taking_row, taker, Liquidity.TAKER),
        (resting_row, maker, Liquidity.MAKER),
    ):
        charge = book.fill_order(row, spec, liquidity, qty, price, 0, trade_id, takes)
        exec_id = ids()
        batch.executions.append(
            journal.execution_row(
                exec_id,
                row,
                ExecutionType.FILL,
                takes,
                day,
                last_shares=qty,
                last_px=price,
                trade_id=trade_id,
                aggressor=liquidity is Liquidity.TAKER,
                commission=charge.commission_notional,
            )
        )
        side_of = Side.from_wire(row["side"])
        _settle(batch, spec, trader, side_of, qty, price, charge.fee, exec_id, takes, day)
        fills.append(exec_id)
    batch.orders += [resting_row, taking_row]
    batch.trades.append(
        journal.trade_row(
            trade_id=trade_id,
            symbol=spec.symbol,
            aggressor_exec=fills[0],
            passive_exec=fills[1],
            aggressor_account=taker.account,
            passive_account=maker.account,
            price=price,
            qty=qty,
            stamp=takes,
        )
    )


def _settle(
    batch: Batch,
    spec: InstrumentSpec,
    trader: Trader,
    side: Side,
    qty: int,
    price: int,
    fee: Decimal,
    exec_id: str,
    stamp: str,
    day: str,
) -> None:
    """One side of one fill, as the order book settles it, kept in memory and in the batch."""
    before = trader.positions.get(spec.symbol) or Position(trader.account, spec.symbol)
    after, postings = book.fill_consequences(spec, before, side, qty, price, fee)
    trader.positions[spec.symbol] = after
    batch.positions.append(journal.position_row(after, stamp))
    batch.changes.append(
        journal.position_change_row(
            "pl_" + wire.ulid(), before, after, "Trade fill", stamp, day, exec_id
        )
    )
    common = {"stamp": stamp, "business_date": day, "symbol": spec.symbol, "ref": exec_id}
    for entry_type, amount, description in postings:
        batch.entries.append(
            ledger.entry_row(
                "bl_" + wire.ulid(),
                trader.account,
                trader.cash,
                trader.cash + amount,
                entry_type=entry_type,
                description=description,
                **common,
            )
        )
        trader.cash += amount
    trader.updated = stamp
    batch.touched[trader.account] = trader


def _order(
    ids: Ids,
    spec: InstrumentSpec,
    trader: Trader,
    side: Side,
    qty: int,
    price: int,
    tif: TimeInForce,
) -> OrderRequest:
    return OrderRequest(
        type=OrderType.LIMIT,
        side=side,
        symbol=spec.symbol,
        price=price,
        order_qty=qty,
        cash_order_qty=None,
        time_in_force=tif,
        clord_id=ids(),
        account=trader.account,
        good_till_time="",
        manual_order_indicator=AUTOMATED,
    )
