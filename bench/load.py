"""Benchmark: signed-in staff on the queue and participant pages, served as in production.

    make bench-load     # BENCH_DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/backoffice_load

gunicorn with 4 workers and deploy/gunicorn_conf.py, production settings, PostgreSQL, sign-in
through the SSO proxy's headers (here: loopback, trusted). BENCH_CLIENTS threads (default 8),
each one staff member with their own session, alternate between the onboarding queue and a
random participant's page for BENCH_SECONDS (default 20), after a warm-up. Requests per second,
median, p95 and errors are written between the markers in bench/README.md. The load generator
runs on the same machine as the server, and takes its share of the cores.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
WORKERS = 4
PARTICIPANTS = int(os.environ.get("BENCH_PARTICIPANTS", "2000"))
ROOT = Path(__file__).resolve().parents[1]
README = Path(__file__).with_name("README.md")
HOST = "backoffice.example.com"


def setup_django() -> str:
    url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/backoffice_load")
    if not url.startswith("postgres"):
        sys.exit("Measured on PostgreSQL: point BENCH_DATABASE_URL at one.")
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("ENV_FILE", "tests/test.env")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
    import django

    django.setup()
    return url


def fill() -> list[int]:
    """Participants with open KYC submissions (filled once; re-runs reuse them)."""
    from django.core.management import call_command
    from django.db import transaction

    from participants.models import Participant
    from tests.factories import FirmFactory, KycSubmissionFactory, UserFactory

    call_command("migrate", verbosity=0)
    if not Participant.objects.exists():
        # One transaction: an interrupted fill leaves nothing for the next run to trip on.
        with transaction.atomic():
            KycSubmissionFactory.create_batch(
                PARTICIPANTS,
                participant__firm=FirmFactory.create(),
                status="manual_review",
                submitted_by=UserFactory.create(username="bench-intake", roles=["support"]),
            )
    return list(Participant.objects.values_list("pk", flat=True))


def start_gunicorn(database_url: str) -> tuple[subprocess.Popen[str], str]:
    from tests.backoffice.test_settings import PRODUCTION

    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    env |= {
        **PRODUCTION,
        "ALLOWED_HOSTS": HOST,
        "SSO_TRUSTED_PROXIES": "127.0.0.1/32",
        "DATABASE_URL": database_url,
        "BACKOFFICE_BIND": "127.0.0.1:0",
        "WEB_CONCURRENCY": str(WORKERS),
        "STATIC_MANIFEST": "false",
        "LOG_LEVEL": "INFO",  # gunicorn says where it listens at INFO
    }
    process = subprocess.Popen(  # noqa: S603  (our own virtualenv's gunicorn)
        [str(Path(sys.executable).with_name("gunicorn")), "-c", "deploy/gunicorn_conf.py"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        match = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", process.stderr.readline())
        if match:
            # Drain the log in the background, so that a full pipe never blocks a worker.
            threading.Thread(target=process.stderr.read, daemon=True).start()
            return process, match.group(1)
    process.kill()
    sys.exit("gunicorn did not start")


def staff(base: str, number: int) -> requests.Session:
    session = requests.Session()
    session.headers.update(
        {
            "Host": HOST,
            "X-Forwarded-Proto": "https",
            "X-Forwarded-User": f"bench-staff-{number}",
            "X-Forwarded-Groups": "backoffice-support",
        }
    )
    return session


def run(base: str, pks: list[int], until: float, latencies: list[float], errors: list[str], n: int):
    session = staff(base, n)
    rng = random.Random(n)
    while time.monotonic() < until:
        path = (
            "/onboarding/" if rng.random() < 0.5 else f"/onboarding/participants/{rng.choice(pks)}/"
        )
        started = time.perf_counter()
        try:
            status = session.get(base + path, timeout=30, allow_redirects=False).status_code
            error = "" if status == 200 else str(status)
        except requests.RequestException as exc:
            error = type(exc).__name__
        latencies.append((time.perf_counter() - started) * 1000)
        if error:
            errors.append(error)


def main() -> None:
    database_url = setup_django()
    pks = fill()
    process, base = start_gunicorn(database_url)
    try:
        warm: list[float] = []
        run(base, pks, time.monotonic() + 3, warm, [], 0)
        latencies: list[float] = []
        errors: list[str] = []
        until = time.monotonic() + SECONDS
        threads = [
            threading.Thread(target=run, args=(base, pks, until, latencies, errors, n))
            for n in range(CLIENTS)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
    finally:
        process.terminate()
        process.wait(timeout=30)
    p95 = statistics.quantiles(latencies, n=20)[18]
    row = (
        f"| {len(latencies) / elapsed:.0f} | {statistics.median(latencies):.0f} | {p95:.0f} | "
        f"{len(errors)} of {len(latencies)} |"
    )
    print(row)
    write(row)


def write(row: str) -> None:
    when = f"{dt.datetime.now(tz=dt.UTC):%Y-%m-%d %H:%M} UTC"
    cpu = platform.processor() or platform.machine()
    table = "\n".join(
        [
            (
                f"Run {when}, {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
                f"PostgreSQL on loopback; gunicorn with {WORKERS} sync workers; {CLIENTS} staff "
                f"sessions for {SECONDS:.0f} s over {PARTICIPANTS:,} participants. The load "
                "generator shared the machine's cores with the server (load average "
                f"{os.getloadavg()[0]:.1f} as the run ended, the run's own included)."
            ),
            "",
            "| Requests/s | Median ms | p95 ms | Errors |",
            "| -: | -: | -: | -: |",
            row,
        ]
    )
    text = README.read_text()
    block = f"<!-- load-results -->\n{table}\n<!-- /load-results -->"
    if "<!-- load-results -->" in text:
        text = re.sub(
            r"<!-- load-results -->.*?<!-- /load-results -->", lambda _: block, text, flags=re.S
        )
    else:
        text += (
            "\n## Served as in production (`make bench-load`, bench/load.py)\n\n"
            "Signed-in staff (SSO headers) alternating between the onboarding queue and a participant's\n"
            "page, against gunicorn with 4 workers on PostgreSQL: throughput, latency seen by the client,\n"
            "and errors (any answer but 200).\n\n" + block + "\n"
        )
    README.write_text(text)


if __name__ == "__main__":
    main()
