"""Benchmark: the nightly reconciliation of 10,000 accounts with about 10 positions each, against
the sandbox with its rate limits off, on PostgreSQL (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/reconcile_bench).

    make bench-reconcile   # or: .venv/bin/python -m bench.reconcile [--participants N] [--executions E]

1. A fresh sandbox store gets 12 instruments, then `python -m sandbox simulate --bulk` fills it
   (N participants, each funded from the pool, E executions between them over five days), and
   the sandbox serves it with `--no-rate-limits`.
2. A fresh database gets what the firm's own records hold, through the firm's own paths: the
   participants and their accounts, each deposit as a confirmed funding request (copied from the
   store's cash movements), the instruments (reference data sync) and the trading mirror (the
   firm-wide executions download, applied as a backfill applies it).
3. `reconcile` for the latest business date runs every configured check, timed, with the
   database's queries counted (the gateway's own record of each call, one row an attempt, is
   counted apart, in rows). Every call the run made to the exchange is noted, and then made again
   through the same gateway, one after the other with nothing else around it, recorded as the
   run records its reads (held, one INSERT a page): the time to merely download the same data.
4. From the calls made, what the run would take at the exchange's documented limits, and which
   limit dominates.

The result is written between the markers in bench/README.md.

With `--store DIR` the sandbox store is kept in DIR (else in a temporary directory), and with
`--reuse` a store and database filled by an earlier run with the same `--store` are used as they
are: steps 1 and 2 are skipped (the fill takes minutes on a quiet machine, most of an hour on a
busy one) and the figures of that fill are reported from DIR/fill.json. A store without that file, or a database that is missing, is
filled afresh. `--fill-only` stops once the store and database are filled.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import write_results  # noqa: E402
from bench.streams import existing, machine, start_sandbox  # noqa: E402
from bench.trading import fresh_database, setup_django  # noqa: E402

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/reconcile_bench"
)
README = ROOT / "bench" / "README.md"
FIRM = "Bench"
EXTRA_INSTRUMENTS = 8  # beside the sandbox's 4 seed instruments: 12 to hold positions in

# The exchange's documented limits for what a run reads (API.md 5.3.3, 5.4, 7.2): calls a second.
# Balances and positions are "rate-limited per firm, must not be polled" with no figure given.
DOCUMENTED = {
    "balance_ledger": ("balance ledger, 0.5 a second (burst 5)", 0.5, 5),
    "statement": ("downloads, about 5 a minute", 5 / 60, 1),
}


def fill_store(data: Path, participants: int, executions: int) -> tuple[float, dict[str, Any]]:
    """12 instruments, then the bulk fill; returns (seconds, the fill's summary)."""
    from sandbox import market
    from sandbox.store import Store

    started = time.perf_counter()
    store = Store(data)
    with store.write() as db:
        market.seed_instruments(db)
        for n in range(EXTRA_INSTRUMENTS):
            market.add_instrument(
                db,
                {
                    "symbol": f"bench-event-{n:02d}",
                    "description": f"Bench event {n}",
                    "price_scale": 100,
                    "fractional_qty_scale": 1,
                    "tick_size": "0.01",
                    "event_id": f"bench-{n}",
                    "question": f"Bench question {n}?",
                },
            )
    store.close()
    done = subprocess.run(  # noqa: S603  (our own interpreter and package)
        [sys.executable, "-m", "sandbox", "simulate", "--data", str(data), "--bulk",
         "--firm", FIRM, "--participants", str(participants), "--executions", str(executions)],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return time.perf_counter() - started, json.loads(done.stdout)


def fill_records(data: Path) -> tuple[float, int, int]:
    """Participants, accounts and confirmed deposits from the store; the mirror through the
    firm's own reads. Returns (seconds, accounts, executions mirrored)."""
    import sqlite3
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.db import transaction

    from backoffice.gateway.client import get_gateway
    from funding.models import FundingRequest
    from participants.models import Account, Firm, Participant
    from trading import mirror
    from trading.instruments import instruments_sync

    started = time.perf_counter()
    store = sqlite3.connect(data / "sandbox.sqlite3")
    store.row_factory = sqlite3.Row
    rows = store.execute(
        "SELECT a.account, a.participant_id, p.external_id, p.display_name FROM accounts a "
        "JOIN participants p ON p.participant_id = a.participant_id "
        "WHERE a.firm_id = ? AND a.kind = 'participant' ORDER BY a.account",
        (FIRM,),
    ).fetchall()
    firm = Firm.objects.create(environment="sandbox", client_id="bench", firm_id=FIRM)
    people = Participant.objects.bulk_create(
        [
            Participant(
                firm=firm,
                external_id=r["external_id"],
                participant_id=r["participant_id"],
                status=Participant.Status.ACTIVE,
            )
            for r in rows
        ],
        batch_size=2000,
    )
    accounts = Account.objects.bulk_create(
        [
            Account(participant=p, account_id=r["account"])
            for p, r in zip(people, rows, strict=True)
        ],
        batch_size=2000,
    )
    by_id = {a.account_id: a for a in accounts}
    maker, checker = (
        get_user_model().objects.create(username=name) for name in ("bench-maker", "bench-checker")
    )
    movements = store.execute(
        "SELECT workflow_id, participant_account, amount, reason, dco_transfer_id, "
        "idempotency_key, external_reference, updated_at FROM cash_movements "
        "WHERE firm_id = ? AND status = 'CONFIRMED'",
        (FIRM,),
    ).fetchall()
    FundingRequest.objects.bulk_create(
        [
            FundingRequest(
                account=by_id[m["participant_account"]],
                participant=by_id[m["participant_account"]].participant,
                direction="deposit" if m["reason"] == "DEPOSIT" else "withdrawal",
                amount=Decimal(m["amount"]),
                external_reference=m["external_reference"],
                status="confirmed",
                requested_by=maker,
                approved_by=checker,
                workflow_id=m["workflow_id"],
                dco_transfer_id=m["dco_transfer_id"],
                idempotency_key=m["idempotency_key"],
                settled_at=dt.datetime.fromisoformat(m["updated_at"].replace("Z", "+00:00")),
            )
            for m in movements
            if m["participant_account"] in by_id
        ],
        batch_size=2000,
    )
    first, last = store.execute(
        "SELECT MIN(transact_time), MAX(transact_time) FROM executions"
    ).fetchone()
    store.close()
    instruments_sync()
    gateway = get_gateway()
    moment = dt.datetime.fromisoformat(first.replace("Z", "+00:00"))
    end = dt.datetime.fromisoformat(last.replace("Z", "+00:00"))
    mirrored = 0
    while moment <= end:
        chunk_end = moment + dt.timedelta(hours=6)
        found = gateway.download_executions(actor=None, start_time=moment, end_time=chunk_end)
        with transaction.atomic(durable=True):
            mirror.apply_downloaded_executions(found)
        mirrored += len(found)
        moment = chunk_end + dt.timedelta(microseconds=1)
    return time.perf_counter() - started, len(accounts), mirrored


class Calls:
    """Every gateway call a run makes, noted so that it can be made again on its own."""

    def __init__(self) -> None:
        from backoffice.gateway.client import Gateway

        self.noted: list[tuple[Any, dict[str, Any]]] = []
        self.original = Gateway._call
        calls = self

        def noting(gateway: Any, endpoint: Any, **kwargs: Any) -> Any:
            calls.noted.append((endpoint, kwargs))
            return calls.original(gateway, endpoint, **kwargs)

        Gateway._call = noting  # type: ignore[method-assign,assignment]

    def stop(self) -> None:
        from backoffice.gateway.client import Gateway

        Gateway._call = self.original  # type: ignore[method-assign]

    def replay(self) -> float:
        """The same calls again, one after the other, recorded as the run records its reads:
        held, and written in one INSERT a page (500 accounts, two reads each)."""
        from django.conf import settings

        from backoffice.gateway.client import get_gateway
        from backoffice.gateway.recording import HeldRecorder

        gateway = get_gateway()
        held = HeldRecorder(gateway.recorder)
        holding = gateway.using(recorder=held)
        a_page = 2 * settings.RECONCILIATION_PAGE_SIZE
        started = time.perf_counter()
        for n, (endpoint, kwargs) in enumerate(self.noted, 1):
            self.original(holding, endpoint, **kwargs)
            if n % a_page == 0:
                held.flush()
        held.flush()
        return time.perf_counter() - started


def reconcile() -> tuple[Any, float, int, int, Counter[str], float]:
    """The run (its wall seconds, its own queries, the rows of the gateway's call record it
    wrote, exchange calls by operation), then the seconds to make the same calls again on their
    own, one after the other."""
    from django.db import connection

    from backoffice.context import command_context
    from backoffice.gateway.models import GatewayCall
    from backoffice.reconciliation import dates
    from backoffice.reconciliation.checks import configured_checks
    from backoffice.reconciliation.runs import run_begin, run_execute

    queries: Counter[str] = Counter()

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries["gateway" if "gateway_gatewaycall" in sql else "run"] += 1  # recording: apart
        return execute(sql, params, many, context)

    calls = Calls()
    checks = configured_checks()
    day = dates.business_date_of(dt.datetime.now(tz=dt.UTC))
    recorded = GatewayCall.objects.count()
    with connection.execute_wrapper(count), command_context("reconcile"):
        started = time.perf_counter()
        run = run_begin(business_date=day, accounts=[], checks=checks, actor=None)
        run = run_execute(run, checks, actor=None)
        seconds = time.perf_counter() - started
    calls.stop()
    rows = GatewayCall.objects.count() - recorded
    by_operation = Counter(endpoint.operation for endpoint, _ in calls.noted)
    download = calls.replay()
    return run, seconds, queries["run"], rows, by_operation, download


def at_limits(by_operation: Counter[str]) -> tuple[list[str], str]:
    lines = []
    worst = ("", 0.0)
    for operation, (label, rate, burst) in DOCUMENTED.items():
        calls = by_operation.get(operation, 0)
        seconds = max(0.0, (calls - burst) / rate)
        lines.append(f"{operation}: {calls:,} calls at {label} = {seconds:,.0f} s")
        if seconds > worst[1]:
            worst = (operation, seconds)
    return lines, worst[0]


def database_exists(url: str) -> bool:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    return found is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--executions", type=int, default=600_000)
    parser.add_argument("--store", type=Path, default=None, help="keep the sandbox store here")
    parser.add_argument(
        "--reuse", action="store_true", help="with --store: use the store and database as filled"
    )
    parser.add_argument(
        "--fill-only", action="store_true", help="with --store: fill, then stop before the run"
    )
    args = parser.parse_args()
    if (args.reuse or args.fill_only) and args.store is None:
        parser.error("--reuse and --fill-only need --store")
    with tempfile.TemporaryDirectory() as scratch:
        data = args.store if args.store is not None else Path(scratch) / "store"
        filled = data / "fill.json"
        reuse = args.reuse and filled.exists() and database_exists(DATABASE_URL)
        fresh_database(DATABASE_URL, keep=reuse)
        if reuse:
            fill = json.loads(filled.read_text())
            summary, store_seconds = fill["summary"], fill["store_seconds"]
        else:
            if data.exists():
                shutil.rmtree(data)
            data.mkdir(parents=True)
            store_seconds, summary = fill_store(data, args.participants, args.executions)
        client_id, key, _ = existing(data, FIRM)
        key_file = Path(scratch) / "firm.pem"
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        sandbox, base, _ = start_sandbox(data)
        os.environ.update(
            {
                "POLYMARKET_ENVIRONMENT": "sandbox",
                "POLYMARKET_SANDBOX_URL": base,
                "POLYMARKET_CLIENT_ID": client_id,
                "POLYMARKET_PRIVATE_KEY_FILE": str(key_file),
                "POLYMARKET_RATE_LIMITS": "false",
            }
        )
        try:
            setup_django(DATABASE_URL)
            from trading.models import Execution

            if reuse:
                records_seconds, accounts, mirrored = (
                    fill["records_seconds"], fill["accounts"], fill["mirrored"]
                )  # fmt: skip
            else:
                records_seconds, accounts, mirrored = fill_records(data)
                filled.write_text(
                    json.dumps(
                        {
                            "summary": summary,
                            "store_seconds": store_seconds,
                            "records_seconds": records_seconds,
                            "accounts": accounts,
                            "mirrored": mirrored,
                        }
                    )
                )
            if args.fill_only:
                return
            load = os.getloadavg()[0]
            run, seconds, run_queries, gateway_rows, by_operation, download = reconcile()
            load = max(load, os.getloadavg()[0])
        finally:
            sandbox.terminate()
            sandbox.wait(timeout=10)
        fills = Execution.objects.filter(exec_type__in=("FILL", "PARTIAL_FILL")).count()
    write(
        summary, accounts, mirrored, fills, store_seconds, records_seconds,
        run, seconds, run_queries, gateway_rows, by_operation, download, load,
    )  # fmt: skip


def write(
    summary: dict[str, Any],
    accounts: int,
    mirrored: int,
    fills: int,
    store_seconds: float,
    records_seconds: float,
    run: Any,
    seconds: float,
    run_queries: int,
    gateway_rows: int,
    by_operation: Counter[str],
    download: float,
    load: float,
) -> None:
    when = f"{dt.datetime.now(tz=dt.UTC):%Y-%m-%d %H:%M} UTC"
    limits, dominant = at_limits(by_operation)
    calls = ", ".join(f"{op} {n:,}" for op, n in sorted(by_operation.items()))
    compared = run.counts.get("positions", {}).get("items", 0)
    table = "\n".join(
        [
            (
                f"Run {when} on {machine()}; PostgreSQL and the sandbox on the same machine, rate "
                f"limits off; load average up to {load:.1f} on its 2 cores, shared with other work."
            ),
            "",
            (
                f"Filled: {accounts:,} accounts, {summary['executions']:,} executions "
                f"({fills:,} fills mirrored of {mirrored:,} downloaded), {compared:,} positions "
                f"compared; the store in {store_seconds:.0f} s, our records and the mirror in "
                f"{records_seconds:.0f} s."
            ),
            "",
            (
                "| Run | State | Breaks | Total s | Download only s | Ratio | Queries / account "
                "(run) | Gateway call rows / account |"
            ),
            "| - | - | -: | -: | -: | -: | -: | -: |",
            (
                f"| #{run.pk} for {run.business_date} | {run.state} | {run.breaks_found} | "
                f"{seconds:.1f} | {download:.1f} | {seconds / download:.2f}x | "
                f"{run_queries / accounts:.3f} | {gateway_rows / accounts:.2f} |"
            ),
            "",
            f"Exchange calls: {calls}.",
            "",
            "At the documented limits: " + "; ".join(limits) + f". **{dominant}** dominates.",
        ]
    )
    write_results(README, "reconcile", table)
    print(table)


if __name__ == "__main__":
    main()
