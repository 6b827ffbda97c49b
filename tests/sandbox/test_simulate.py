"""`python -m sandbox simulate`: the default, bulk and steady modes fill data a server then serves."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from polymarket.v1 import dropcopy_pb2
from sandbox import consistency, simulate
from sandbox.__main__ import main
from sandbox.config import Settings
from tests.sandbox.partner import Partner, register_partner
from tests.sandbox.streams import Streams


def test_simulate_then_serve(tmp_path: Path, sandbox_factory) -> None:
    data = tmp_path / "sim"
    summary = json.loads(
        simulate.simulate(Settings(data_dir=data), participants=40, firm_id="Sim", seed=3)
    )
    assert summary["participants"] == 40
    assert summary["ordersFilled"] > 0
    server = sandbox_factory(data_dir=data)
    db = server.sandbox.store.db
    assert db.execute("SELECT COUNT(*) FROM participants WHERE firm_id = 'Sim'").fetchone()[0] == 40
    pool = db.execute("SELECT funding_account FROM firms WHERE firm_id = 'Sim'").fetchone()[0]
    deposits = db.execute(
        "SELECT COUNT(*) FROM cash_movements WHERE firm_id = 'Sim' AND status = 'CONFIRMED'"
    ).fetchone()[0]
    assert deposits == 40
    assert (
        db.execute("SELECT balance FROM balances WHERE account = ?", (pool,)).fetchone()[0] == "0"
    )
    assert consistency.problems(db) == []


def _firm_partner(base: str, db: sqlite3.Connection, data: Path, firm_id: str) -> Partner:
    """The partner a simulation created, signing in with the key it wrote beside the data."""
    key = serialization.load_pem_private_key((data / f"{firm_id}-private.pem").read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    row = db.execute("SELECT client_id FROM firms WHERE firm_id = ?", (firm_id,)).fetchone()
    return Partner(base=base, firm_id=firm_id, client_id=row[0], key=key)


def _rising(db: sqlite3.Connection, table: str, column: str) -> bool:
    """Whether the table's times never go back as its seq goes up."""
    times = [r[0] for r in db.execute(f"SELECT {column} FROM {table} ORDER BY seq")]  # noqa: S608
    return times == sorted(times)


def test_bulk_fill_agrees_with_itself_and_is_served(tmp_path: Path, sandbox_factory) -> None:
    data = tmp_path / "bulk"
    settings = Settings(data_dir=data)
    summary = json.loads(
        simulate.fill(settings, participants=30, executions=402, firm_id="Bulk", seed=7, days=2)
    )
    assert (summary["participants"], summary["trades"], summary["executions"]) == (30, 100, 400)
    server = sandbox_factory(data_dir=data)
    db = server.sandbox.store.db
    firm_accounts = "SELECT account FROM accounts WHERE firm_id = 'Bulk'"
    counts = [
        db.execute(f"SELECT COUNT(*) FROM {table} WHERE account IN ({firm_accounts})").fetchone()[0]  # noqa: S608
        for table in ("executions", "orders", "position_ledger")
    ]
    assert counts == [400, 200, 200]
    assert db.execute("SELECT COUNT(*) FROM trades").fetchone()[0] == 100
    assert consistency.problems(db) == []
    for table, column in (
        ("executions", "transact_time"),
        ("balance_ledger", "update_time"),
        ("position_ledger", "update_time"),
        ("trades", "created_at"),
    ):
        assert _rising(db, table, column), table
    pool = db.execute("SELECT funding_account FROM firms WHERE firm_id = 'Bulk'").fetchone()[0]
    assert (
        db.execute("SELECT balance FROM balances WHERE account = ?", (pool,)).fetchone()[0] == "0"
    )
    # The API serves the fill: a participant's balance and positions are the store's.
    partner = _firm_partner(server.url, db, data, "Bulk")
    pid, account = db.execute(
        "SELECT participant_id, account FROM accounts WHERE firm_id = 'Bulk' AND kind = 'participant' "
        "AND account IN (SELECT account FROM positions WHERE net_position != 0) LIMIT 1"
    ).fetchone()
    balance = partner.post("/v1/positions/balance", {"name": account}, pid=pid).json()
    stored = db.execute("SELECT balance FROM balances WHERE account = ?", (account,)).fetchone()[0]
    assert Decimal(balance["balance"]) == Decimal(stored)
    served = partner.get("/v1/positions", pid=pid, name=account).json()["positions"]
    rows = db.execute(
        "SELECT symbol, net_position FROM positions WHERE account = ? ORDER BY symbol", (account,)
    )
    assert [(p["symbol"], p["netPosition"]) for p in served] == [(s, str(n)) for s, n in rows]
    with pytest.raises(simulate.Refused, match="fills a fresh directory"):
        simulate.fill(settings, participants=30, executions=400, firm_id="Bulk", seed=7, days=2)


def test_consistency_finds_what_does_not_agree(tmp_path: Path) -> None:
    data = tmp_path / "bulk"
    simulate.fill(
        Settings(data_dir=data), participants=10, executions=80, firm_id="B", seed=1, days=1
    )
    db = sqlite3.connect(data / "sandbox.sqlite3")
    db.row_factory = sqlite3.Row
    account = db.execute("SELECT account FROM positions LIMIT 1").fetchone()[0]
    with db:
        db.execute("UPDATE balances SET balance = '1.00' WHERE account = ?", (account,))
        db.execute("UPDATE positions SET qty_bought = qty_bought + 1 WHERE account = ?", (account,))
    found = consistency.problems(db)
    assert f"account {account}: its balance is not its ledger's last entry" in found
    assert any(p.startswith(f"position {account} ") and "fills imply" in p for p in found)


def test_steady_trading_reaches_a_serving_sandbox_live(sandbox_factory) -> None:
    # Heartbeats every 30 s: only noticing the other writer's commits can wake the stream sooner.
    server = sandbox_factory(grpc_port=0, stream_heartbeat=30)
    partner = register_partner(server.url)
    _, account = partner.onboard()
    partner.deposit(account, "1000.00")
    client = Streams(server.sandbox.settings.grpc_port, partner.token)
    try:
        reader = client.open(
            client.dropcopy.CreateDropCopySubscription,
            dropcopy_pb2.CreateDropCopySubscriptionRequest(),
        )
        assert list(reader.next().executions) == []  # live only: a first heartbeat
        # A second writer on the same data directory, with its own connections.
        summary = simulate.steady(
            Settings(data_dir=server.sandbox.settings.data_dir),
            rate=100,
            firm_id=partner.firm_id,
            seed=2,
            orders=3,
        )
        assert json.loads(summary)["ordersEntered"] == 3
        events: list = []
        while len(events) < 6:  # NEW and FILL of each order
            events.extend(reader.next(timeout=10).executions)
        assert {e.order.account for e in events} == {account}
        reader.cancel()
    finally:
        client.close()


def test_command_line_modes(tmp_path: Path, capsys) -> None:
    data = str(tmp_path / "cli")
    bulk = ["simulate", "--data", data, "--bulk", "--participants", "4", "--executions", "8"]
    assert main(bulk) == 0
    assert json.loads(capsys.readouterr().out)["executions"] == 8
    assert main(["simulate", "--data", data, "--steady", "50", "--orders", "2"]) == 0
    assert json.loads(capsys.readouterr().out)["ordersEntered"] == 2
    assert main(["simulate", "--data", data, "--steady", "50", "--firm", "Nobody"]) == 2
    assert "firm Nobody has no participants" in capsys.readouterr().err
    assert main(bulk) == 2
    assert "fills a fresh directory" in capsys.readouterr().err
