"""Partner funding: CashMovementService over Connect JSON (API.md 5.3.1, 8 #2, #4, #5).

Transfers move cash only between the firm's partner funding account and one of its participants'
accounts; the reason fixes the direction. Each transfer is idempotent on its key (the request is
hashed under it: a changed payload is ALREADY_EXISTS), confirmed synchronously unless a fault says
otherwise, REJECTED (not an error) when the source cannot cover it, and posts both legs to the
balance ledger. Nothing drives an account negative.
"""

from __future__ import annotations

import sqlite3
import time
from decimal import Decimal
from typing import Any

from sandbox import ledger, risk, wire
from sandbox.env import Env
from sandbox.errors import ApiError, Code, invalid, not_found
from sandbox.routing import CONNECT, Ctx, Route

REASONS = {"DEPOSIT": 1, "WITHDRAWAL": 2, "VENDOR_FEES": 3}
STATUS_PREFIX = "CASH_MOVEMENT_STATUS_"
# Ledger entry type per reason; vendor fees have no type of their own (8 #5).
ENTRY_TYPES = {"DEPOSIT": "DEPOSIT", "WITHDRAWAL": "WITHDRAWAL", "VENDOR_FEES": "MANUAL_TRANSFER"}
SERVICE = "/polymarket.us.cashmovement.v1.CashMovementService"


def _reason(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        for name, number in REASONS.items():
            if number == value:
                return name
    if isinstance(value, str):
        name = value.strip().upper().removeprefix("TRANSFER_REASON_")
        if name in REASONS:
            return name
    raise invalid("transfer.reason: must be DEPOSIT, WITHDRAWAL or VENDOR_FEES")


def _parse(body: dict[str, Any]) -> dict[str, Any]:
    key = wire.text(body.get("idempotency_key"), "idempotency_key").strip()
    if not key:
        raise invalid("idempotency_key is required")
    if len(key) > 255:
        raise invalid("idempotency_key: at most 255 characters")
    transfer = body.get("transfer")
    if not isinstance(transfer, dict):
        raise invalid("transfer is required")
    reason = _reason(transfer.get("reason"))
    account = wire.text(transfer.get("participant_account_id"), "participant_account_id").strip()
    if not account:
        raise invalid("transfer.participant_account_id is required")
    amount = wire.money(transfer.get("amount"), "transfer.amount")
    if amount <= 0:
        raise invalid("transfer.amount must be positive")
    currency = wire.text(transfer.get("currency"), "transfer.currency").strip().upper()
    if currency != "USD":
        raise invalid("transfer.currency must be USD")
    reference = wire.text(transfer.get("external_reference"), "external_reference").strip()
    if not reference:
        raise invalid("transfer.external_reference is required")
    return {
        "idempotency_key": key,
        "reason": reason,
        "participant_account_id": account,
        "amount": str(amount.normalize()),
        "currency": currency,
        "external_reference": reference,
        "memo": wire.text(transfer.get("memo"), "memo"),
    }


def movement_json(row: sqlite3.Row) -> dict[str, Any]:
    data = {
        "workflowId": row["workflow_id"],
        "idempotencyKey": row["idempotency_key"],
        "intentType": "transfer",
        "status": STATUS_PREFIX + row["status"],
        "amount": wire.fmt_money(Decimal(row["amount"])),
        "currency": row["currency"],
        "sourceAccountId": row["source_account"],
        "destinationAccountId": row["destination_account"],
        "dcoTransferId": row["dco_transfer_id"],
        "rejectionReason": row["rejection_reason"],
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
        "reason": "TRANSFER_REASON_" + row["reason"],
    }
    # Connect's JSON omits empty strings, as protojson does.
    return {k: v for k, v in data.items() if v != ""}


def execute(db: sqlite3.Connection, row: sqlite3.Row, outcome: str = "CONFIRMED") -> None:
    """Resolve a movement: post both legs, or reject it. Checks funds at this moment."""
    reason, amount = row["reason"], Decimal(row["amount"])
    rejection = ""
    if outcome == "REJECTED":
        rejection = "REJECTED_BY_FUNDING_ENTITY"
    elif reason == "DEPOSIT":
        if ledger.balance(db, row["source_account"]) < amount:
            rejection = "INSUFFICIENT_FUNDS"
    else:
        if risk.free_cash(db, row["source_account"]) < amount:
            rejection = "INSUFFICIENT_FUNDS"
        elif reason == "VENDOR_FEES":
            other = db.execute(
                "SELECT 1 FROM cash_movements WHERE participant_account = ? AND reason = 'VENDOR_FEES' "
                "AND status = 'CONFIRMED' AND business_date = ? AND workflow_id != ?",
                (row["participant_account"], row["business_date"], row["workflow_id"]),
            ).fetchone()
            if other:
                rejection = "VENDOR_FEES_ALREADY_COLLECTED_TODAY"
    if not rejection:
        account = db.execute(
            "SELECT suspended FROM accounts WHERE account = ?", (row["participant_account"],)
        ).fetchone()
        if account is not None and account["suspended"]:
            rejection = "ACCOUNT_NOT_ACTIVE"
    stamp = wire.ts()
    if rejection:
        db.execute(
            "UPDATE cash_movements SET status = 'REJECTED', rejection_reason = ?, settle_at = NULL, "
            "updated_at = ? WHERE workflow_id = ?",
            (rejection, stamp, row["workflow_id"]),
        )
        return
    label = {
        "DEPOSIT": "Deposit",
        "WITHDRAWAL": "Withdrawal",
        "VENDOR_FEES": "Vendor fee collection",
    }
    entry_type = ENTRY_TYPES[reason]
    ref = row["workflow_id"]
    ledger.post(
        db,
        account=row["source_account"],
        amount=-amount,
        entry_type=entry_type,
        description=f"{label[reason]} {row['external_reference']}",
        ref=ref,
    )
    ledger.post(
        db,
        account=row["destination_account"],
        amount=amount,
        entry_type=entry_type,
        description=f"{label[reason]} {row['external_reference']}",
        ref=ref,
    )
    db.execute(
        "UPDATE cash_movements SET status = 'CONFIRMED', dco_transfer_id = ?, settle_at = NULL, "
        "updated_at = ? WHERE workflow_id = ?",
        ("dco_" + wire.ulid(), stamp, row["workflow_id"]),
    )


def settle_due(env: Env) -> int:
    """PENDING and AMBIGUOUS movements whose time has come are resolved."""
    due = env.store.db.execute(
        "SELECT workflow_id FROM cash_movements WHERE settle_at IS NOT NULL AND settle_at <= ?",
        (time.time(),),
    ).fetchall()
    for item in due:
        with env.store.write() as db:
            row = db.execute(
                "SELECT * FROM cash_movements WHERE workflow_id = ? AND settle_at IS NOT NULL",
                (item["workflow_id"],),
            ).fetchone()
            if row is not None:
                execute(db, row, row["settle_outcome"] or "CONFIRMED")
    return len(due)


def create(ctx: Ctx) -> dict[str, Any]:
    request = _parse(ctx.body())
    request_hash = wire.canonical(request)
    env = ctx.env
    settle_due(env)
    with env.store.write() as db:
        existing = db.execute(
            "SELECT * FROM cash_movements WHERE firm_id = ? AND idempotency_key = ?",
            (ctx.firm_id, request["idempotency_key"]),
        ).fetchone()
        if existing is not None:
            if existing["request_hash"] != request_hash:
                raise ApiError(
                    Code.ALREADY_EXISTS, "idempotency_key was used with a different request"
                )
            return {"cashMovement": movement_json(existing)}
        firm = db.execute("SELECT * FROM firms WHERE firm_id = ?", (ctx.firm_id,)).fetchone()
        account = db.execute(
            "SELECT * FROM accounts WHERE account = ? AND firm_id = ? AND kind = 'participant'",
            (request["participant_account_id"], ctx.firm_id),
        ).fetchone()
        if account is None:
            raise not_found("no customer relationship for the firm and participant_account_id")
        pool, participant = firm["funding_account"], account["account"]
        source, destination = (
            (pool, participant) if request["reason"] == "DEPOSIT" else (participant, pool)
        )
        stamp = wire.ts()
        workflow = wire.workflow_id()
        fault = env.faults.draw("cash", {"cash_pending", "cash_ambiguous"})
        status = "PENDING"
        settle_at: float | None = None
        outcome = ""
        if fault is not None:
            status = "PENDING" if fault.kind == "cash_pending" else "AMBIGUOUS"
            settle_at = time.time() + fault.settle_after
            outcome = fault.settle_outcome
        db.execute(
            "INSERT INTO cash_movements (workflow_id, firm_id, idempotency_key, request_hash, reason, "
            "participant_account, amount, currency, source_account, destination_account, status, "
            "external_reference, memo, settle_at, settle_outcome, business_date, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                workflow,
                ctx.firm_id,
                request["idempotency_key"],
                request_hash,
                request["reason"],
                participant,
                request["amount"],
                request["currency"],
                source,
                destination,
                status,
                request["external_reference"],
                request["memo"],
                settle_at,
                outcome,
                wire.business_date().isoformat(),
                stamp,
                stamp,
            ),
        )
        row = db.execute(
            "SELECT * FROM cash_movements WHERE workflow_id = ?", (workflow,)
        ).fetchone()
        if fault is None:
            execute(db, row)
            row = db.execute(
                "SELECT * FROM cash_movements WHERE workflow_id = ?", (workflow,)
            ).fetchone()
    env.wake()
    return {"cashMovement": movement_json(row)}


def get(ctx: Ctx) -> dict[str, Any]:
    workflow = wire.text(ctx.body().get("workflow_id"), "workflow_id").strip()
    if not workflow:
        raise invalid("workflow_id is required")
    settle_due(ctx.env)
    row = ctx.db.execute(
        "SELECT * FROM cash_movements WHERE workflow_id = ? AND firm_id = ?",
        (workflow, ctx.firm_id),
    ).fetchone()
    if row is None:
        raise not_found("cash movement not found")
    return {"cashMovement": movement_json(row)}


def funding_balance(ctx: Ctx) -> dict[str, Any]:
    currency = wire.text(ctx.body().get("currency"), "currency").strip().upper()
    firm = ctx.db.execute("SELECT * FROM firms WHERE firm_id = ?", (ctx.firm_id,)).fetchone()
    if currency != firm["currency"]:
        raise invalid(f"currency must be {firm['currency']}")
    return {
        "fundingAccountId": firm["funding_account"],
        "balance": wire.fmt_money(ledger.balance(ctx.db, firm["funding_account"])),
        "currency": currency,
        "asOf": wire.ts(),
    }


def admin_movements(env: Env, firm_id: str, idempotency_key: str) -> dict[str, Any]:
    """The firm's movements (one key's, if given), oldest first: a test's exchange-side count."""
    sql = "SELECT * FROM cash_movements WHERE firm_id = ?"
    params = [firm_id]
    if idempotency_key:
        sql += " AND idempotency_key = ?"
        params.append(idempotency_key)
    rows = env.store.db.execute(sql + " ORDER BY created_at, workflow_id", params).fetchall()
    return {"cashMovements": [movement_json(row) for row in rows]}


def _route(method: str, handler: Any) -> Route:
    return Route(
        f"{SERVICE}/{method}",
        ("POST",),
        handler,
        style=CONNECT,
        scope="write:cash-movements",
        family="cash",
        limit="cash",
    )


ROUTES = [
    _route("CreateCashMovement", create),
    _route("GetCashMovement", get),
    _route("GetFundingAccountBalance", funding_balance),
]
