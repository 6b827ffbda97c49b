"""Benchmark: how long `python -m sandbox simulate --bulk` takes to fill a store for the benchmarks.

    make bench-fill        # or: .venv/bin/python -m bench.fill [--participants N] [--executions E]

Runs the bulk fill (default 10,000 participants, 1,000,000 executions) into a scratch directory in
its own process, times it (wall and CPU), then checks that the store agrees with itself
(sandbox.consistency: positions and balances are what the executions imply, ledgers chain and end
at the balances) and counts what it holds. The result is written between the markers in
bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import write_results  # noqa: E402
from bench.streams import machine  # noqa: E402
from sandbox import consistency  # noqa: E402

TABLES = ("participants", "orders", "executions", "trades", "position_ledger", "balance_ledger")


def fill(data: Path, participants: int, executions: int) -> tuple[dict[str, Any], float, float]:
    """Run the fill; its summary, wall seconds and CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603  (our own interpreter and package)
        [sys.executable, "-m", "sandbox", "simulate", "--data", str(data), "--bulk",
         "--participants", str(participants), "--executions", str(executions)],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )  # fmt: skip
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return json.loads(done.stdout), wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--executions", type=int, default=1_000_000)
    parser.add_argument("--write", type=Path, default=ROOT / "bench" / "README.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch)
        summary, wall, cpu = fill(data, args.participants, args.executions)
        db = sqlite3.connect(data / "sandbox.sqlite3")
        db.row_factory = sqlite3.Row
        counts = {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}  # noqa: S608
        started = time.perf_counter()
        found = consistency.problems(db)
        checked = time.perf_counter() - started
        size = sum(f.stat().st_size for f in data.glob("sandbox.sqlite3*")) / 2**20
        db.close()
    when = f"{dt.datetime.now(tz=dt.UTC):%Y-%m-%d %H:%M} UTC"
    rows = " | ".join(f"{counts[t]:,}" for t in TABLES)
    table = "\n".join(
        [
            (
                f"Run {when} on {machine()}; SQLite store in a scratch directory; other work "
                "shared the machine's 2 cores."
            ),
            "",
            "| Fill | Wall s | CPU s | " + " | ".join(TABLES) + " | Store |",
            "| - | -: | -: | " + " | ".join("-:" for _ in TABLES) + " | -: |",
            (
                f"| {summary['participants']:,} participants, {summary['executions']:,} executions "
                f"over {summary['from'][:10]} to {summary['to'][:10]} | {wall:.0f} | {cpu:.0f} | "
                f"{rows} | {size:,.0f} MiB |"
            ),
            "",
            (
                f"Consistency check ({checked:.0f} s): "
                + ("every check holds." if not found else "FAILED: " + "; ".join(found))
            ),
        ]
    )
    print(table)
    write_results(args.write, "fill", table)


if __name__ == "__main__":
    main()
