"""`python -m sandbox simulate` fills a data dir that a server then serves."""

from __future__ import annotations

import json
from pathlib import Path

from sandbox.config import Settings
from sandbox.simulate import simulate


def test_simulate_then_serve(tmp_path: Path, sandbox_factory) -> None:
    data = tmp_path / "sim"
    summary = json.loads(simulate(Settings(data_dir=data), participants=40, firm_id="Sim", seed=3))
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
