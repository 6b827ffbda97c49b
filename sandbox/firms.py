"""Firms (partners), their keys, scopes and partner funding accounts; identifier shapes (8 #16)."""

from __future__ import annotations

import secrets
import sqlite3
from decimal import Decimal
from typing import Any

from cryptography.hazmat.primitives.serialization import load_pem_public_key

from sandbox import ledger, wire
from sandbox.errors import invalid, not_found
from sandbox.store import Store

ALL_SCOPES = [
    "read:marketdata",
    "read:l2marketdata",
    "read:instruments",
    "read:orders",
    "write:orders",
    "read:reports",
    "read:positions",
    "read:dropcopy",
    "read:accounts",
    "read:funding",
    "write:funding",
    "read:kyc",
    "write:kyc",
    "write:cash-movements",
]
HOUSE_FIRM = "House"
HOUSE_ACCOUNT = "firms/ISV-House/accounts/house"
HOUSE_PARTICIPANT = "firms/ISV-Participant-House/users/market-maker"


def participant_firm(firm_id: str) -> str:
    return f"ISV-Participant-{firm_id}"


def participant_id(firm_id: str, external_id: str) -> str:
    return f"firms/{participant_firm(firm_id)}/users/{external_id}"


def new_account_name(firm_id: str) -> str:
    return f"firms/ISV-{firm_id}/accounts/{secrets.token_hex(16)}"


def _keys(body: dict[str, Any]) -> list[tuple[str, str]]:
    raw = body.get("public_keys")
    if raw is None and body.get("public_key"):
        raw = [body["public_key"]]
    if not isinstance(raw, list) or not raw:
        raise invalid("public_keys: one or two PEM public keys are required")
    if len(raw) > 2:
        raise invalid("public_keys: at most two keys (old and new during a rotation)")
    keys: list[tuple[str, str]] = []
    for index, item in enumerate(raw):
        pem, kid = (
            (item.get("pem", ""), item.get("kid", "")) if isinstance(item, dict) else (item, "")
        )
        try:
            load_pem_public_key(str(pem).encode())
        except ValueError as exc:
            raise invalid(f"public_keys[{index}]: not a PEM public key") from exc
        keys.append((str(kid or ""), str(pem)))
    return keys


def firm_upsert(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    """Create or update a firm; re-registering replaces keys and scopes and keeps balances."""
    firm_id = wire.text(body.get("firm_id"), "firmId").strip()
    if not firm_id or "/" in firm_id:
        raise invalid("firmId is required and may not contain '/'")
    client_id = wire.text(body.get("client_id"), "clientId").strip() or secrets.token_urlsafe(24)
    keys = _keys(body)
    scopes_raw = body.get("scopes", ALL_SCOPES)
    scopes = scopes_raw.split() if isinstance(scopes_raw, str) else [str(s) for s in scopes_raw]
    display = wire.text(body.get("display_name"), "displayName") or firm_id
    funding_entity = wire.text(body.get("funding_entity"), "fundingEntity") or f"{firm_id}-funding"
    funding_account = f"firms/{funding_entity}/accounts/funding"
    initial = wire.money(body.get("funding_balance", "1000000.00"), "fundingBalance")
    with store.write() as db:
        clash = db.execute(
            "SELECT firm_id FROM firms WHERE client_id = ? AND firm_id != ?", (client_id, firm_id)
        ).fetchone()
        if clash:
            raise invalid("clientId is already registered to another firm")
        existing = db.execute("SELECT * FROM firms WHERE firm_id = ?", (firm_id,)).fetchone()
        if existing is None:
            db.execute(
                "INSERT INTO firms (firm_id, client_id, display_name, funding_account, scopes, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (firm_id, client_id, display, funding_account, " ".join(scopes), wire.ts()),
            )
            db.execute(
                "INSERT INTO accounts (account, firm_id, kind, display_name, created_at) "
                "VALUES (?, ?, 'funding', ?, ?)",
                (funding_account, firm_id, f"{display} partner funding account", wire.ts()),
            )
            if initial > 0:
                ledger.post(
                    db,
                    account=funding_account,
                    amount=initial,
                    entry_type="DEPOSIT",
                    description="Partner funding account top-up",
                )
        else:
            db.execute(
                "UPDATE firms SET client_id = ?, display_name = ?, scopes = ? WHERE firm_id = ?",
                (client_id, display, " ".join(scopes), firm_id),
            )
        db.execute("DELETE FROM firm_keys WHERE firm_id = ?", (firm_id,))
        for kid, pem in keys:
            db.execute(
                "INSERT INTO firm_keys (firm_id, kid, public_pem) VALUES (?, ?, ?)",
                (firm_id, kid, pem),
            )
    return firm_json(store.db, firm_id)


def firm_row(db: sqlite3.Connection, firm_id: str) -> sqlite3.Row:
    row = db.execute("SELECT * FROM firms WHERE firm_id = ?", (firm_id,)).fetchone()
    if row is None:
        raise not_found(f"firm {firm_id} not found")
    return row


def firm_json(db: sqlite3.Connection, firm_id: str) -> dict[str, Any]:
    row = firm_row(db, firm_id)
    keys = db.execute("SELECT kid FROM firm_keys WHERE firm_id = ?", (firm_id,)).fetchall()
    return {
        "firmId": row["firm_id"],
        "clientId": row["client_id"],
        "displayName": row["display_name"],
        "participantFirm": participant_firm(row["firm_id"]),
        "fundingAccountId": row["funding_account"],
        "fundingBalance": wire.fmt_money(ledger.balance(db, row["funding_account"])),
        "scopes": row["scopes"].split(),
        "keyCount": len(keys),
        "disabled": bool(row["disabled"]),
        "webhookUrl": row["webhook_url"],
    }


def firm_fund(store: Store, firm_id: str, amount: Decimal) -> dict[str, Any]:
    with store.write() as db:
        row = firm_row(db, firm_id)
        ledger.post(
            db,
            account=row["funding_account"],
            amount=amount,
            entry_type="DEPOSIT" if amount >= 0 else "WITHDRAWAL",
            description="Partner funding account top-up",
        )
    return firm_json(store.db, firm_id)


def ensure_house(db: sqlite3.Connection) -> None:
    """The market maker whose resting orders let partner orders fill; it never runs out of cash."""
    if db.execute("SELECT 1 FROM accounts WHERE account = ?", (HOUSE_ACCOUNT,)).fetchone():
        return
    db.execute(
        "INSERT INTO accounts (account, firm_id, participant_id, kind, display_name, created_at) "
        "VALUES (?, ?, ?, 'house', 'House liquidity', ?)",
        (HOUSE_ACCOUNT, HOUSE_FIRM, HOUSE_PARTICIPANT, wire.ts()),
    )
    ledger.post(
        db,
        account=HOUSE_ACCOUNT,
        amount=Decimal("1000000000.00"),
        entry_type="DEPOSIT",
        description="House capital",
    )
