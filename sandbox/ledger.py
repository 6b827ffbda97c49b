"""Cash balances and the balance ledger: every change of a balance is one ledger row, in one place."""

from __future__ import annotations

import sqlite3
from decimal import Decimal

from sandbox import wire

# LedgerEntryType full names (funding-schema.json); short names are accepted on input.
ALLOWED_TYPES = {
    "DEPOSIT",
    "WITHDRAWAL",
    "ORDER_EXECUTION",
    "CORRECTION",
    "RESOLUTION",
    "MANUAL_ADJUSTMENT",
    "ACCOUNT_PROPERTY_ADJUSTMENT",
    "COMMISSION",
    "WITHDRAWAL_REJECTION",
    "MANUAL_TRANSFER",
    "PENDING_WITHDRAWAL_CREATION",
}
SUPPRESSED_TYPES = {
    "NETTING",
    "SECURITY_BALANCE_ADJUSTMENT",
    "SECURITY_MARK_TO_MARKET",
    "CONTRACT_EXPIRATION",
    "PENDING_CREDIT_ADJUSTMENT",
    "BEGINNING_OF_DAY",
    "SECURITY_WITHDRAWAL",
    "AVERAGE_PRICE_TRANSFER",
    "GIVE_UP",
    "SYNCHRONIZATION",
    "INTEREST",
    "SETTLEMENT_FEE",
}
PREFIX = "LEDGER_ENTRY_TYPE_BALANCE_"
# Ledger history starts here: earlier start times are clamped to it (API.md 5.3.3).
FLOOR = "2026-05-01T00:00:00.000Z"


class Overdraft(Exception):
    """A posting would drive an account negative; the caller decides what that means."""


def balance(db: sqlite3.Connection, account: str, currency: str = "USD") -> Decimal:
    row = db.execute(
        "SELECT balance FROM balances WHERE account = ? AND currency = ?", (account, currency)
    ).fetchone()
    return Decimal(row["balance"]) if row else Decimal(0)


UPSERT_BALANCE = (
    "INSERT INTO balances (account, currency, balance, update_time) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (account, currency) DO UPDATE SET balance = excluded.balance, "
    "update_time = excluded.update_time"
)
INSERT_ENTRY = (
    "INSERT INTO balance_ledger (id, account, currency, before_balance, after_balance, "
    "description, update_time, entry_type, symbol, business_date, ref) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def entry_row(
    entry_id: str,
    account: str,
    before: Decimal,
    after: Decimal,
    *,
    entry_type: str,
    description: str,
    stamp: str,
    business_date: str,
    currency: str = "USD",
    symbol: str = "",
    ref: str = "",
) -> tuple[str, ...]:
    """The values of INSERT_ENTRY."""
    if entry_type not in ALLOWED_TYPES:
        raise ValueError(f"unknown ledger entry type {entry_type}")
    return (
        entry_id,
        account,
        currency,
        str(before),
        str(after),
        description,
        stamp,
        entry_type,
        symbol,
        business_date,
        ref,
    )


def post(
    db: sqlite3.Connection,
    *,
    account: str,
    amount: Decimal,
    entry_type: str,
    description: str,
    currency: str = "USD",
    symbol: str = "",
    ref: str = "",
    allow_negative: bool = False,
    moment: str | None = None,
) -> str:
    """Add `amount` (signed) to the account and write the ledger row; returns the entry id."""
    before = balance(db, account, currency)
    after = before + amount
    if after < 0 and not allow_negative:
        raise Overdraft(account)
    stamp = moment or wire.ts()
    entry_id = "bl_" + wire.ulid()
    row = entry_row(
        entry_id,
        account,
        before,
        after,
        entry_type=entry_type,
        description=description,
        stamp=stamp,
        business_date=wire.business_date(wire.parse_ts(stamp, "moment")).isoformat(),
        currency=currency,
        symbol=symbol,
        ref=ref,
    )
    db.execute(UPSERT_BALANCE, (account, currency, str(after), stamp))
    db.execute(INSERT_ENTRY, row)
    return entry_id


def entry_json(row: sqlite3.Row) -> dict[str, object]:
    return {
        "id": row["id"],
        "account": row["account"],
        "currency": row["currency"],
        "beforeBalance": wire.fmt_money(Decimal(row["before_balance"])),
        "afterBalance": wire.fmt_money(Decimal(row["after_balance"])),
        "description": row["description"],
        "updateTime": row["update_time"],
        "modifiedSecurityId": row["symbol"],
        "entryType": PREFIX + row["entry_type"],
        "symbol": row["symbol"],
        "updateBusinessDate": row["business_date"],
    }


def parse_entry_type(value: str) -> str:
    name = value.strip().upper()
    return name[len(PREFIX) :] if name.startswith(PREFIX) else name
