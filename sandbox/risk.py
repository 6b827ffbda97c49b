"""Buying power and free cash from the database, with the engine's collateral model (API.md 5.5.5).

The maths is `sandbox.engine.collateral`; this module only gathers an account's cash, positions and
resting orders per instrument.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal

from sandbox import ledger
from sandbox.engine.collateral import (
    BalanceSummary,
    balance_summary,
    check_order,
    open_orders_requirement,
    unfunded_orders,
    withdrawable_cash,
)
from sandbox.engine.enums import Side, TimeInForce
from sandbox.engine.fixedpoint import InstrumentSpec
from sandbox.engine.matching import IncomingOrder, RestingOrder
from sandbox.instruments import instrument_spec


def net_position(db: sqlite3.Connection, account: str, symbol: str) -> int:
    row = db.execute(
        "SELECT net_position FROM positions WHERE account = ? AND symbol = ?", (account, symbol)
    ).fetchone()
    return int(row["net_position"]) if row else 0


def resting_by_symbol(db: sqlite3.Connection, account: str) -> dict[str, list[RestingOrder]]:
    rows = db.execute(
        "SELECT seq, id, symbol, side, price, leaves_qty, time_in_force FROM orders "
        "WHERE account = ? AND state IN ('NEW', 'PARTIALLY_FILLED') AND leaves_qty > 0",
        (account,),
    ).fetchall()
    grouped: dict[str, list[RestingOrder]] = {}
    for r in rows:
        grouped.setdefault(r["symbol"], []).append(
            RestingOrder(
                order_id=r["id"],
                account=account,
                side=Side.from_wire(r["side"]),
                price=int(r["price"]),
                leaves_qty=int(r["leaves_qty"]),
                priority=int(r["seq"]),
                time_in_force=TimeInForce.from_wire(r["time_in_force"]),
            )
        )
    return grouped


def reservations(db: sqlite3.Connection, account: str) -> list[Decimal]:
    return [
        open_orders_requirement(
            instrument_spec(db, symbol), net_position(db, account, symbol), orders
        )
        for symbol, orders in resting_by_symbol(db, account).items()
    ]


def summary(db: sqlite3.Connection, account: str) -> BalanceSummary:
    return balance_summary(ledger.balance(db, account), reservations(db, account))


def free_cash(db: sqlite3.Connection, account: str) -> Decimal:
    """What a WITHDRAWAL or VENDOR_FEES transfer may take out."""
    return withdrawable_cash(ledger.balance(db, account), reservations(db, account))


def can_afford(
    db: sqlite3.Connection,
    account: str,
    spec: InstrumentSpec,
    order: IncomingOrder,
    replacing: str | None = None,
) -> bool:
    """Whether the account's cash covers `order` beside its other resting orders in the same
    instrument (`replacing`: the id of the order it replaces, which no longer counts)."""
    resting = [
        o for o in resting_by_symbol(db, account).get(spec.symbol, []) if o.order_id != replacing
    ]
    check = check_order(
        spec, ledger.balance(db, account), net_position(db, account, spec.symbol), resting, order
    )
    return check.affordable


def unfunded(db: sqlite3.Connection, account: str) -> list[str]:
    """Resting orders the account can no longer fund, to be cancelled (unsolicited)."""
    cash = ledger.balance(db, account)
    victims: list[str] = []
    for symbol, orders in resting_by_symbol(db, account).items():
        spec = instrument_spec(db, symbol)
        victims.extend(unfunded_orders(spec, cash, net_position(db, account, symbol), orders))
    return victims
