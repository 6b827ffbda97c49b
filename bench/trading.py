"""Benchmarks of the trading mirror, on PostgreSQL (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/trading_bench).

    .venv/bin/python -m bench.trading ingest [--executions N]   # make bench-trading-ingest
    .venv/bin/python -m bench.trading pages [--executions N]     # make bench-trading-pages

`ingest`: fills a fresh sandbox store with N executions (default 1,000,000, bench.streams' fill),
starts the sandbox in its own process, and runs `manage.py trading_stream --once --stream
executions` (its own process too) into an empty mirror whose cursor resumes from long ago, so
the whole replay goes through Drop Copy and the consumer's batch transactions. It samples the
consumer's progress and resident memory every half second, reads its CPU time when it exits, and
the sandbox's when the replay is over.

`pages`: fills the mirror by SQL with 10,000 participants (one account each), N executions
(default 1,000,000) and a tenth as many orders, then times the blotter (its filters, a page deep in it), the participant
page, the order page and the trading changelists through Django's test client: query count,
median and p95 over ROUNDS requests. Each size has its own database, filled once and kept between
runs, and its own results in bench/README.md (`make bench-trading-pages-10m`: 10,000,000).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import settle, write_results  # noqa: E402
from bench.list_pages import measure  # noqa: E402
from bench.streams import fill, machine, start_sandbox  # noqa: E402

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/trading_bench"
)
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "30"))
README = ROOT / "bench" / "README.md"


def fresh_database(url: str, *, keep: bool = False) -> None:
    """An empty, migrated database (with `keep`, one that exists keeps its rows and gains only
    the migrations it lacks)."""
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and not keep:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        if not exists or not keep:
            conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={**os.environ, "ENV_FILE": "tests/test.env", "DATABASE_URL": url},
        check=True,
    )


def setup_django(url: str) -> None:
    os.environ["ENV_FILE"] = "tests/test.env"
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
    import django

    django.setup()


def resident(pid: int) -> int:
    """The process's resident memory in MiB (0 once it has gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    except FileNotFoundError:
        pass
    return 0


def ingest(executions: int) -> None:
    fresh_database(DATABASE_URL)
    setup_django(DATABASE_URL)
    from trading.models import StreamCursor

    StreamCursor.objects.create(
        environment="sandbox",
        stream="executions",
        last_event_time=dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
    )
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "store"
        data.mkdir()
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        client_id, fill_seconds = fill(data, executions, key)
        key_file = Path(scratch) / "firm.pem"
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        sandbox, base, grpc_port = start_sandbox(data)
        env = {
            **os.environ,
            "POLYMARKET_ENVIRONMENT": "sandbox",
            "POLYMARKET_SANDBOX_URL": base,
            "POLYMARKET_CLIENT_ID": client_id,
            "POLYMARKET_PRIVATE_KEY_FILE": str(key_file),
            "POLYMARKET_GRPC_TARGET": f"127.0.0.1:{grpc_port}",
            "POLYMARKET_RATE_LIMITS": "false",
        }
        load = os.getloadavg()[0]
        try:
            consumer = subprocess.Popen(
                [sys.executable, "manage.py", "trading_stream", "--once",
                 "--stream", "executions"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
            )  # fmt: skip
            samples: list[tuple[float, int, int]] = []  # (seconds, applied, MiB)
            started = time.perf_counter()
            while True:
                # wait4 reaps the consumer with its resource usage (CPU time, peak memory).
                pid, status, usage = os.wait4(consumer.pid, os.WNOHANG)
                if pid:
                    break
                applied = StreamCursor.objects.get(stream="executions").events_applied
                samples.append((time.perf_counter() - started, applied, resident(consumer.pid)))
                time.sleep(0.5)
            wall = time.perf_counter() - started
            consumer.returncode = os.waitstatus_to_exitcode(status)
            serving = cpu_seconds(sandbox.pid)  # start-up and fill reads included, a few seconds
        finally:
            sandbox.terminate()
            sandbox.wait(timeout=10)
    final = StreamCursor.objects.get(stream="executions").events_applied
    assert consumer.returncode == 0, consumer.returncode
    cpu = usage.ru_utime + usage.ru_stime
    write_ingest(
        executions, final, samples, wall, cpu, serving, usage.ru_maxrss // 1024, fill_seconds, load
    )


def cpu_seconds(pid: int) -> float:
    """A running process's CPU time so far (user and system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _at(samples: list[tuple[float, int, int]], share: float, total: int) -> tuple[float, int]:
    for seconds, applied, mib in samples:
        if applied >= share * total:
            return seconds, mib
    return samples[-1][0], samples[-1][2]


def write_ingest(
    expected: int,
    applied: int,
    samples: list[tuple[float, int, int]],
    wall: float,
    cpu: float,
    serving: float,
    peak: int,
    fill_seconds: float,
    load: float,
) -> None:
    first = next(t for t, n, _ in samples if n > 0)  # the consumer has started and connected
    done, _ = _at(samples, 1.0, expected)
    replay = done - first
    memory = " / ".join(f"{_at(samples, share, expected)[1]}" for share in (0.1, 0.5, 0.9))
    when = f"{dt.datetime.now(tz=dt.UTC):%Y-%m-%d %H:%M} UTC"
    table = "\n".join(
        [
            (
                f"Run {when} on {machine()}; PostgreSQL 15 on loopback; the sandbox, the consumer and "
                f"PostgreSQL each in their own process on the same 2 cores, which other work shared "
                f"(load average {load:.1f} as the replay began)."
            ),
            "",
            (
                "| Replay into the mirror | Executions applied | Replay s | Executions/s | "
                "Consumer CPU s | Sandbox CPU s | Consumer RSS at 10% / 50% / 90% (MiB) | "
                "Peak RSS (MiB) |"
            ),
            "| - | -: | -: | -: | -: | -: | -: | -: |",
            (
                f"| `trading_stream --once --stream executions`, batches of 500 | {applied:,} | "
                f"{replay:.1f} | {applied / replay:,.0f} | {cpu:.1f} | {serving:.1f} | {memory} | "
                f"{peak} |"
            ),
            "",
            (
                f"The store: {expected:,} executions over 10,000 accounts (bench.streams' fill, "
                f"{fill_seconds:.0f} s). The process ran {wall:.1f} s in all, start-up included; the "
                "replay is timed from its first applied batch to its last."
            ),
        ]
    )
    print(table)
    write_results(README, "trading-ingest", table)


PARTICIPANTS = 10_000
EXECUTIONS = 1_000_000
SYMBOLS = 20


def pages_database(executions: int) -> str:
    """The pages' database for this many executions, filled once and kept between runs."""
    return DATABASE_URL + ("_pages" if executions == EXECUTIONS else f"_pages_{executions}")


def fill_mirror(executions: int) -> None:
    """10,000 participants with an account each, `executions` executions and one order for ten
    of them, over 20 symbols and the last five days, written by SQL (a million in seconds)."""
    from django.db import connection

    from tests.factories import FirmFactory

    firm = FirmFactory.create()
    orders = executions // 10
    # The orders' insert times spread over the same five days whatever their number.
    spacing = 432_000 / orders
    with connection.cursor() as c:
        c.execute(
            "INSERT INTO participants_participant (firm_id, external_id, participant_id, status, "
            "created_at) SELECT %s, 'bench-' || n, 'firms/ISV-Participant-Bench/users/bench-' "
            "|| n, 'active', now() FROM generate_series(1, %s) n",
            [firm.pk, PARTICIPANTS],
        )
        c.execute(
            "INSERT INTO participants_account (participant_id, account_id, created_at) "
            "SELECT id, 'firms/ISV-Bench/accounts/' || lpad(id::text, 8, '0'), now() "
            "FROM participants_participant"
        )
        c.execute(
            "INSERT INTO trading_order (exchange_id, clord_id, account, symbol, side, order_type, "
            "time_in_force, state, price, avg_px, order_qty, cum_qty, leaves_qty, "
            "commission_total, insert_time, last_transact_time, state_rank, updated_at) "
            "SELECT 'O' || lpad(n::text, 11, '0'), 'c' || n, 'firms/ISV-Bench/accounts/' || "
            "lpad((1 + n %% %s)::text, 8, '0'), 'sym-' || (n %% %s), "
            "CASE WHEN n %% 2 = 0 THEN 'BUY' ELSE 'SELL' END, 'LIMIT', 'GOOD_TILL_CANCEL', "
            "CASE WHEN n %% 10 = 0 THEN 'NEW' ELSE 'FILLED' END, 0.45, 0.45, 100, "
            "CASE WHEN n %% 10 = 0 THEN 0 ELSE 100 END, CASE WHEN n %% 10 = 0 THEN 100 ELSE 0 END, "
            "0.17, now() - (n || ' seconds')::interval * %s, "
            "now() - (n || ' seconds')::interval * %s, 3, now() FROM generate_series(1, %s) n",
            [PARTICIPANTS, SYMBOLS, spacing, spacing, orders],
        )
        c.execute(
            "INSERT INTO trading_execution (exchange_id, order_exchange_id, account, symbol, side, "
            "exec_type, order_state, last_shares, last_px, cum_qty, leaves_qty, commission, "
            "aggressor, trade_id, reject_reason, text, transact_time, trade_date, busted, source) "
            "SELECT 'E' || lpad(e::text, 11, '0'), o.exchange_id, o.account, o.symbol, o.side, "
            "CASE WHEN e %% 10 = 0 THEN 'NEW' ELSE 'PARTIAL_FILL' END, 'PARTIALLY_FILLED', 10, "
            "0.45, 10, 90, 0.02, true, 'T' || e, '', '', o.insert_time + (e %% 10) * "
            "interval '1 second', (o.insert_time)::date, false, 'stream' "
            "FROM generate_series(1, %s) e JOIN trading_order o "
            "ON o.exchange_id = 'O' || lpad((1 + (e - 1) / 10)::text, 11, '0')",
            [executions],
        )
        settle(c)
    from django.core.management import call_command

    call_command("createsuperuser", "--noinput", username="bench-admin", email="a@example.com")


def kyc_case(person: Any) -> None:
    """The measured participant's onboarding, as the page shows it to support: an earlier
    submission, the current one with its timeline and notes, and another participant's held as
    a possible duplicate of it."""
    from participants.models import KycNote, KycStatusChange
    from tests.factories import KycSubmissionFactory

    KycSubmissionFactory.create(participant=person, status="resubmit")
    current = KycSubmissionFactory.create(participant=person, status="manual_review")
    for step in ("pending", "submitting", "manual_review"):
        KycStatusChange.objects.create(
            submission=current, to_status=step, actor_label="exchange", source="poll"
        )
    for text in ("Called the participant.", "Asked for a utility bill."):
        KycNote.objects.create(submission=current, author=current.submitted_by, text=text)
    KycSubmissionFactory.create(
        participant__firm=person.firm, status="held_duplicate", duplicate_of=current
    )


def pages(executions: int) -> None:
    url = pages_database(executions)
    fresh_database(url, keep=True)
    setup_django(url)
    from django.contrib.auth.models import User
    from django.test import Client

    from participants.models import Participant
    from tests.factories import UserFactory
    from trading.models import Order

    if not Order.objects.exists():
        fill_mirror(executions)
    support, admin = Client(), Client()
    support.force_login(
        User.objects.filter(username="bench-support").first()
        or UserFactory.create(username="bench-support", roles=["support"])
    )
    admin.force_login(User.objects.get(username="bench-admin"))
    person = Participant.objects.get(external_id="bench-4242")
    if not person.kyc_submissions.exists():
        kyc_case(person)
    deep = Order.objects.order_by("-insert_time", "-id")[60_000]
    cursor = f"{deep.insert_time.astimezone(dt.UTC).isoformat().replace('+00:00', 'Z')}~{deep.pk}"
    order = Order.objects.filter(state="NEW").order_by("-id").first()
    assert order is not None
    listed = [
        (support, "/trading/", "blotter: orders"),
        (support, "/trading/?view=executions", "blotter: executions"),
        (support, "/trading/?participant=bench-4242", "blotter: one participant's orders"),
        (support, "/trading/?view=executions&participant=bench-4242", "blotter: one participant's executions"),
        (support, "/trading/?symbol=sym-7&side=BUY&state=OPEN", "blotter: symbol, side and open"),
        (support, "/trading/?view=executions&symbol=sym-3&state=NEW", "blotter: symbol and type"),
        (support, "/trading/?view=executions&symbol=sym-3&state=REJECTED", "blotter: symbol and a type no row has"),
        (support, f"/trading/?after={cursor}", "blotter: a page 60,000 rows deep"),
        (support, f"/onboarding/participants/{person.pk}/", "participant page: KYC case and trading panel"),
        (support, f"/trading/orders/{order.exchange_id}/", "order page"),
        (support, "/gateway/health/", "exchange health with the feed"),
        (admin, "/admin/trading/order/", "admin: orders"),
        (admin, "/admin/trading/execution/", "admin: executions"),
        (admin, "/admin/trading/execution/?exec_type__exact=NEW", "admin: executions, one type"),
        (admin, "/admin/trading/execution/?exec_type__exact=REJECTED", "admin: executions, a type no row has"),
        (admin, "/admin/trading/order/?state=REJECTED", "admin: orders, a state no row has"),
        (admin, f"/admin/trading/execution/?q={order.exchange_id}", "admin: executions of an order"),
    ]  # fmt: skip
    rows = []
    load = os.getloadavg()[0]
    for client, url, label in listed:
        median, p95, queries = measure(client, url)
        rows.append(f"| {label} | `{url.split('?')[0]}` | {queries} | {median:.0f} | {p95:.0f} |")
        print(rows[-1])
    when = f"{dt.datetime.now(tz=dt.UTC):%Y-%m-%d %H:%M} UTC"
    table = "\n".join(
        [
            (
                f"Run {when} on {machine()}; PostgreSQL 15 on loopback; {PARTICIPANTS:,} "
                f"participants, {executions // 10:,} orders, {executions:,} executions; {ROUNDS} timed "
                f"requests a page, through Django's test client; other work shared the 2 cores "
                f"(load average {load:.1f} as the run began)."
            ),
            "",
            "| Page | Path | Queries | Median ms | p95 ms |",
            "| - | - | -: | -: | -: |",
            *rows,
        ]
    )
    name = "trading-pages" if executions == EXECUTIONS else f"trading-pages-{executions}"
    write_results(README, name, table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["ingest", "pages"])
    parser.add_argument("--executions", type=int, default=EXECUTIONS)
    args = parser.parse_args()
    if args.what == "ingest":
        ingest(args.executions)
    else:
        pages(args.executions)


if __name__ == "__main__":
    main()
