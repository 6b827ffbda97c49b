"""Benchmark: the staff list pages and admin changelists with 1,000,000 rows in PostgreSQL.

    make bench-pages     # DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/backoffice_bench

The budget (ARCHITECTURE.md): a fixed number of queries whatever the row count (at most 8), and
p95 under 150 ms. The database is filled once (re-runs reuse it) with 1,000,000 participants and
their KYC submissions (99% decided, 1% spread over the open states, as a queue looks after a year)
and 1,000,000 audit events, all through SQL so that filling takes seconds. Personal fields hold a
real ciphertext of the current key, so pages decrypt exactly as in production. Each page is
requested through Django's test client (the server side only: routing, middleware, queries,
templates) 3 times to warm up, then ROUNDS times; the median, p95 and query count are written
between the markers in bench/README.md.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path

from bench import settle

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "30"))
README = Path(__file__).with_name("README.md")


def setup_django() -> None:
    os.environ.setdefault("ENV_FILE", "tests/test.env")
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/backoffice_bench")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
    if not os.environ["DATABASE_URL"].startswith("postgres"):
        sys.exit("The budget is measured on PostgreSQL: point DATABASE_URL at one.")
    _create_database(os.environ["DATABASE_URL"])
    import django

    django.setup()


def _create_database(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def fill() -> dict[str, int]:
    from django.core.management import call_command
    from django.db import connection

    from backoffice.pii import crypto
    from participants.models import KycSubmission
    from tests.factories import FirmFactory, UserFactory

    call_command("migrate", verbosity=0)
    firm = FirmFactory.create()
    staff = {
        role: UserFactory.create(username=f"bench-{role}", roles=[role])
        for role in ("support", "compliance", "superuser")
    }
    if KycSubmission.objects.count() < ROWS:
        enc = {
            name: crypto.encrypt(value)
            for name, value in {
                "ssn": "123456789",
                "first": "Jane",
                "last": "Doe",
                "dob": "1985-10-02",
                "email": "jane@example.com",
                "phone": "+12125551234",
                "line1": "1 Main Street",
                "city": "New York",
                "state": "NY",
                "zip": "10001",
                "ip": "198.51.100.7",
            }.items()
        }
        open_states = [
            "held_duplicate",
            "pending",
            "submit_failed",
            "awaiting_provisioning",
            "document_check",
            "manual_review",
            "resubmit",
        ]
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE participants_kycstatuschange, participants_kycnote, participants_kycsubmission, participants_account, participants_participant RESTART IDENTITY CASCADE"
            )
            cursor.execute(
                """INSERT INTO participants_participant (firm_id, external_id, participant_id, status, created_at)
                   SELECT %s, 'bench-' || g, CASE WHEN g %% 100 = 0 THEN '' ELSE 'firms/ISV-Participant-Bench/users/bench-' || g END,
                          CASE WHEN g %% 100 = 0 THEN 'onboarding' WHEN g %% 7 = 0 THEN 'rejected' ELSE 'active' END,
                          now() - ((%s - g) || ' minutes')::interval
                   FROM generate_series(1, %s) g""",
                [firm.pk, ROWS, ROWS],
            )
            cursor.execute(
                """INSERT INTO participants_kycsubmission (
                     participant_id, status, ssn, ssn_hash, first_name, middle_name, last_name, date_of_birth,
                     email, phone_number, address_line_1, address_line_2, city, state, postal_code, country,
                     ip_address, session_token, docv_eligible, agreement_version, agreement_signed_at, decision,
                     exchange_status, exchange_sub_status, rejection_reason, docv_url, docv_token, last_error,
                     submitted_by_id, assignee_id, created_at, status_changed_at,
                     email_hash, phone_hash, name_hash, attention_reason, exchange_view)
                   SELECT p.id,
                          CASE WHEN p.id %% 100 = 0 THEN (%s::text[])[1 + (p.id / 100) %% 7]
                               WHEN p.id %% 7 = 0 THEN 'rejected' ELSE 'approved' END,
                          %s, md5(p.id::text), %s, '', %s, %s, %s, %s, %s, '', %s, %s, %s, 'US', %s, '', false,
                          'PMX.ISV.SANDBOX.v1.0', p.created_at, 'ACCEPT', 'CLOSED', 'Accept', '', '', '', '',
                          %s, CASE WHEN p.id %% 300 = 0 THEN %s END, p.created_at, p.created_at,
                          '', '', '', '', '{}'::jsonb
                   FROM participants_participant p""",
                [
                    open_states,
                    enc["ssn"],
                    enc["first"],
                    enc["last"],
                    enc["dob"],
                    enc["email"],
                    enc["phone"],
                    enc["line1"],
                    enc["city"],
                    enc["state"],
                    enc["zip"],
                    enc["ip"],
                    staff["support"].pk,
                    staff["support"].pk,
                ],
            )
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
            cursor.execute("DELETE FROM audit_auditevent")
            cursor.execute(
                """INSERT INTO audit_auditevent (occurred_at, actor_id, actor_label, action, object_type, object_id, payload, client_ip, request_id)
                   SELECT now() - ((%s - g) || ' seconds')::interval,
                          CASE WHEN g %% 3 = 0 THEN NULL ELSE %s END,
                          CASE WHEN g %% 3 = 0 THEN 'command:kyc_sync' ELSE 'bench-support' END,
                          (ARRAY['participants.kyc.submitted','participants.kyc.status_changed','identity.signin',
                                 'gateway.call','participants.pii.revealed','identity.access.refused'])[1 + g %% 6],
                          'participants.kycsubmission', (g %% 1000000)::text, '{"source": "bench"}'::jsonb,
                          '192.0.2.10', md5(g::text)
                   FROM generate_series(1, %s) g""",
                [ROWS, staff["support"].pk, ROWS],
            )
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")
            settle(cursor)
        print(
            f"filled {ROWS:,} participants, submissions and audit events in {time.perf_counter() - started:.0f} s"
        )
    with connection.cursor() as cursor:
        _search_keys(cursor)
    return {
        "support": staff["support"].pk,
        "compliance": staff["compliance"].pk,
        "superuser": staff["superuser"].pk,
    }


def _search_keys(cursor) -> None:
    """Accounts for the provisioned participants, and the search hashes: distinct for every row
    (so a hash finds one submission, as in life), the real ones of Jane Doe for participant
    4242. Runs on a database filled before these existed, and does nothing the second time."""
    from participants.search import submission_hashes

    cursor.execute("SELECT 1 FROM participants_account LIMIT 1")
    if cursor.fetchone() is None:
        cursor.execute(
            """INSERT INTO participants_account (participant_id, account_id, created_at)
               SELECT id, 'firms/ISV-Participant-Bench/accounts/bench-' || id, created_at
               FROM participants_participant WHERE participant_id <> ''"""
        )
    real = submission_hashes(
        ssn="123456789",
        email="jane@example.com",
        phone_number="+12125551234",
        first_name="Jane",
        last_name="Doe",
    )
    started = time.perf_counter()
    cursor.execute(
        """UPDATE participants_kycsubmission SET
             ssn_hash = CASE WHEN participant_id = 4242 THEN %s ELSE md5(id::text) END,
             email_hash = CASE WHEN participant_id = 4242 THEN %s ELSE md5('email' || id) END,
             phone_hash = CASE WHEN participant_id = 4242 THEN %s ELSE md5('phone' || id) END,
             name_hash = CASE WHEN participant_id = 4242 THEN %s ELSE md5('name' || id) END
           WHERE name_hash = ''""",
        [real["ssn_hash"], real["email_hash"], real["phone_hash"], real["name_hash"]],
    )
    if cursor.rowcount:
        settle(cursor)
        print(f"hashed {cursor.rowcount:,} submissions in {time.perf_counter() - started:.0f} s")


def measure(client, url: str) -> tuple[float, float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    timings = []
    for _ in range(ROUNDS):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            if hasattr(response, "streaming_content"):
                b"".join(response.streaming_content)
            timings.append((time.perf_counter() - started) * 1000)
    p95 = statistics.quantiles(timings, n=20)[18]
    return statistics.median(timings), p95, len(queries.captured_queries)


def main() -> None:
    setup_django()
    from django.contrib.auth.models import User
    from django.test import Client

    from participants.models import KycSubmission

    users = fill()
    clients = {}
    for role, pk in users.items():
        clients[role] = Client()
        clients[role].force_login(User.objects.get(pk=pk))
    some = KycSubmission.objects.filter(status="manual_review").order_by("-id").first()
    assert some is not None

    def searched(role: str, path: str, data: dict[str, str]) -> str:
        """The address a search lands on: the term is posted, the page is asked by token."""
        response = clients[role].post(path, data)
        assert response.status_code == 302, (path, response.status_code)
        return response["Location"]

    admin_search = {"app": "participants", "model": "participant"}
    pages = [
        ("support", "/onboarding/", "onboarding queue, open states"),
        ("support", "/onboarding/?status=approved", "onboarding queue, one state of ~850,000 rows"),
        (
            "support",
            "/onboarding/?status=manual_review&overdue=1",
            "queue, one open state, overdue only",
        ),
        ("support", "/onboarding/?assignee=me", "queue, assigned to me"),
        (
            "support",
            "/onboarding/?status=approved&after=500000",
            "queue, a page deep in a large state",
        ),
        ("support", f"/onboarding/participants/{some.participant_id}/", "participant page"),
        ("support", "/onboarding/participants/", "participants list"),
        ("support", "/onboarding/participants/?status=onboarding", "participants, one status"),
        (
            "support",
            "/onboarding/participants/?status=active&after=500000",
            "participants, a page deep in a large status",
        ),
        (
            "support",
            searched("support", "/search/", {"q": "BENCH-4242"}),
            "search: id prefix (external, exchange, account)",
        ),
        (
            "compliance",
            searched("compliance", "/search/", {"q": "jane@example.com"}),
            "search: email (keyed hash)",
        ),
        (
            "compliance",
            searched("compliance", "/search/", {"q": "123456789"}),
            "search: nine digits (SSN hash, id prefixes)",
        ),
        (
            "compliance",
            searched("compliance", "/search/", {"q": "Doe, Jane"}),
            "search: full name (keyed hash)",
        ),
        ("compliance", "/audit/", "audit trail"),
        ("compliance", "/audit/?action=participants", "audit trail, one app's actions"),
        ("compliance", "/audit/?actor=bench-support", "audit trail, one actor"),
        ("superuser", "/admin/participants/kycsubmission/", "admin: KYC submissions"),
        (
            "superuser",
            "/admin/participants/kycsubmission/?status__exact=manual_review",
            "admin: submissions, one state",
        ),
        (
            "superuser",
            searched("superuser", "/search/admin/", {"q": "bench-4242", **admin_search}),
            "admin: participants, search by external id prefix",
        ),
        ("superuser", "/admin/audit/auditevent/", "admin: audit events"),
        ("superuser", "/admin/audit/auditevent/?family=identity", "admin: audit events by app"),
    ]
    rows = []
    for role, url, label in pages:
        median, p95, queries = measure(clients[role], url)
        rows.append(f"| {label} | `{url.split('?')[0]}` | {queries} | {median:.0f} | {p95:.0f} |")
        print(rows[-1])
    write(rows)


def write(rows: list[str]) -> None:
    write_results(
        "pages-results",
        f"{ROWS:,} participants, KYC submissions and audit events",
        rows,
        section=(
            "\n## List pages and changelists (`make bench-pages`, bench/list_pages.py)\n\n"
            "Server-side time of each staff list page with a million rows in PostgreSQL, and its query\n"
            "count (budget: at most 8, whatever the row count; p95 under 150 ms).\n\n"
        ),
    )


def write_results(marker: str, what: str, rows: list[str], *, section: str = "") -> None:
    """The table of `rows` between the `marker` comments of bench/README.md (appended after
    `section` the first time), headed by the machine, the date and `what` was measured."""
    when = f"{dt.datetime.now(tz=dt.UTC):%Y-%m-%d %H:%M} UTC"
    cpu = platform.processor() or platform.machine()
    table = "\n".join(
        [
            (
                f"Run {when}, {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
                f"PostgreSQL on loopback; {what}; {ROUNDS} timed requests a page."
            ),
            "",
            "| Page | Path | Queries | Median ms | p95 ms |",
            "| - | - | -: | -: | -: |",
            *rows,
        ]
    )
    text = README.read_text()
    block = f"<!-- {marker} -->\n{table}\n<!-- /{marker} -->"
    if f"<!-- {marker} -->" in text:
        text = re.sub(rf"<!-- {marker} -->.*?<!-- /{marker} -->", lambda _: block, text, flags=re.S)
    else:
        text += section + block + "\n"
    README.write_text(text)


if __name__ == "__main__":
    main()
