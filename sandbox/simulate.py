"""`python -m sandbox simulate`: activity for demos and benchmarks, written straight to the store.

Creates approved participants (KYC closed, participant and account provisioned) with deposits from
the firm's pool in bulk inserts, then has a share of them trade against the house through the
same order path the API uses, and settles one instrument so some positions resolve.
"""

from __future__ import annotations

import json
import random
import secrets
from decimal import Decimal
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox import book, firms, settlement, wire
from sandbox.app import Sandbox
from sandbox.config import Settings
from sandbox.engine.enums import OrderType, Side, TimeInForce
from sandbox.order_input import OrderRequest

TRADE_SHARE = 0.5
SETTLE_SYMBOL = "atc-mls-atl-clt-2026-03-22-draw"


def _ensure_firm(sandbox: Sandbox, firm_id: str, data_dir: Path) -> str:
    row = sandbox.store.db.execute("SELECT * FROM firms WHERE firm_id = ?", (firm_id,)).fetchone()
    if row is not None:
        return str(row["funding_account"])
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (data_dir / f"{firm_id}-private.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    created = firms.firm_upsert(
        sandbox.store, {"firm_id": firm_id, "public_keys": [pem], "funding_balance": "0"}
    )
    return str(created["fundingAccountId"])


def simulate(settings: Settings, *, participants: int, firm_id: str, seed: int) -> str:
    rng = random.Random(seed)
    sandbox = Sandbox(settings)
    pool = _ensure_firm(sandbox, firm_id, settings.data_dir)
    stamp = wire.ts()
    day = wire.business_date().isoformat()
    deposits = [Decimal(rng.randrange(100, 5000)) for _ in range(participants)]
    with sandbox.store.write() as db:
        # Top the pool up by what the deposits take, so it ends where it started.
        firms.firm_fund(sandbox.store, firm_id, sum(deposits, Decimal(0)))
        pool_balance = Decimal(
            db.execute("SELECT balance FROM balances WHERE account = ?", (pool,)).fetchone()[0]
        )
        kyc_rows, participant_rows, account_rows, balance_rows, ledger_rows, movements = (
            [],
            [],
            [],
            [],
            [],
            [],
        )
        accounts: list[tuple[str, str]] = []
        for index, amount in enumerate(deposits):
            external = f"sim-{seed}-{index:06d}-{secrets.token_hex(3)}"
            pid = firms.participant_id(firm_id, external)
            account = firms.new_account_name(firm_id)
            name = f"Simulated Participant {index}"
            accounts.append((pid, account))
            kyc_rows.append(
                (
                    firm_id,
                    external,
                    "kyc_" + wire.ulid(),
                    "ACCEPT",
                    "CLOSED",
                    "Accept",
                    pid,
                    account,
                    name,
                    "1990-01-01",
                    stamp,
                    stamp,
                )
            )
            participant_rows.append((pid, firm_id, external, name, stamp))
            account_rows.append((account, firm_id, pid, "participant", f"{name} trading", stamp))
            workflow = wire.workflow_id()
            key = f"sim-deposit-{external}"
            movements.append(
                (
                    workflow,
                    firm_id,
                    key,
                    wire.canonical({"sim": key}),
                    "DEPOSIT",
                    account,
                    str(amount),
                    "USD",
                    pool,
                    account,
                    "CONFIRMED",
                    "dco_" + wire.ulid(),
                    f"sim-{index}",
                    day,
                    stamp,
                    stamp,
                )
            )
            balance_rows.append((account, "USD", str(amount), stamp))
            ledger_rows.append(
                (
                    "bl_" + wire.ulid(),
                    account,
                    "USD",
                    "0",
                    str(amount),
                    f"Deposit sim-{index}",
                    stamp,
                    "DEPOSIT",
                    day,
                    workflow,
                )
            )
            ledger_rows.append(
                (
                    "bl_" + wire.ulid(),
                    pool,
                    "USD",
                    str(pool_balance),
                    str(pool_balance - amount),
                    f"Deposit sim-{index}",
                    stamp,
                    "DEPOSIT",
                    day,
                    workflow,
                )
            )
            pool_balance -= amount
        db.executemany(
            "INSERT INTO kyc (firm_id, external_id, eval_id, decision, status, sub_status, "
            "participant_id, account, display_name, date_of_birth, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            kyc_rows,
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
        db.executemany(
            "INSERT INTO balances (account, currency, balance, update_time) VALUES (?, ?, ?, ?)",
            balance_rows,
        )
        db.executemany(
            "INSERT INTO balance_ledger (id, account, currency, before_balance, after_balance, "
            "description, update_time, entry_type, business_date, ref) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ledger_rows,
        )
        db.execute(
            "UPDATE balances SET balance = ?, update_time = ? WHERE account = ?",
            (str(pool_balance), stamp, pool),
        )
        symbols = [
            r["symbol"]
            for r in db.execute("SELECT symbol FROM instruments WHERE state = 'OPEN'").fetchall()
        ]
        trades = 0
        for pid, account in accounts:
            if not symbols or rng.random() >= TRADE_SHARE:
                continue
            symbol = rng.choice(symbols)
            row = db.execute(
                "SELECT price_scale, frac_scale FROM instruments WHERE symbol = ?", (symbol,)
            ).fetchone()
            side = rng.choice([Side.BUY, Side.SELL])
            scale = row["price_scale"]
            price = scale * 60 // 100 if side is Side.BUY else scale * 40 // 100
            req = OrderRequest(
                type=OrderType.LIMIT,
                side=side,
                symbol=symbol,
                price=price,
                order_qty=rng.randrange(1, 50) * row["frac_scale"],
                cash_order_qty=None,
                time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL,
                clord_id=wire.exchange_id(),
                account=account,
                good_till_time="",
                manual_order_indicator="MANUAL_ORDER_INDICATOR_AUTOMATED",
            )
            order = book.submit(db, req, firm_id=firm_id, participant=pid)
            trades += int(order["cum_qty"] > 0)
    settled = ""
    if SETTLE_SYMBOL in symbols:
        settlement.settle(sandbox.store, SETTLE_SYMBOL, {"settlement_px": 0})
        settled = SETTLE_SYMBOL
    sandbox.store.close()
    return json.dumps(
        {
            "firmId": firm_id,
            "participants": participants,
            "ordersFilled": trades,
            "settled": settled,
        }
    )
