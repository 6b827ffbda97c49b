"""Benchmark: the funding pages and changelists with 1,000,000 funding requests in PostgreSQL.

    make bench-funding   # DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/funding_bench

The budget (ARCHITECTURE.md) is the list pages': a fixed number of queries whatever the row count
(at most 8), and p95 under 150 ms. The database is filled once (re-runs reuse it), through SQL,
with 100,000 provisioned participants and 1,000,000 requests as a year of treasury work leaves
them: 1% open, spread over the open states (drafts, awaiting approval, in flight, needing
attention), the rest final (mostly confirmed; rejected, declined and cancelled), each with one
timeline entry. Pages are timed as bench/list_pages.py times them (its `measure`: the server side
through Django's test client, 3 warm-ups, then ROUNDS requests); the funding account page has no
exchange to ask here, so its time is the database side and the page's own work. Results go between
the markers in bench/README.md.
"""

from __future__ import annotations

import os
import time

from bench import settle
from bench.list_pages import measure, setup_django, write_results

REQUESTS = int(os.environ.get("BENCH_ROWS", "1000000"))
PARTICIPANTS = max(1, REQUESTS // 10)
OPEN_STATES = [
    "draft",
    "awaiting_approval",
    "approved",
    "submitting",
    "pending",
    "ambiguous",
    "outcome_unknown",
    "refused",
]


def fill() -> dict[str, int]:
    from django.core.management import call_command
    from django.db import connection

    from funding.models import FundingRequest
    from tests.factories import FirmFactory, UserFactory

    call_command("migrate", verbosity=0)
    firm = FirmFactory.create()
    staff = {
        name: UserFactory.create(username=f"bench-{name}", roles=[role])
        for name, role in (
            ("maker", "treasury"),
            ("checker", "treasury"),
            ("supervisor", "supervisor"),
            ("superuser", "superuser"),
        )
    }
    if FundingRequest.objects.count() < REQUESTS:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE funding_fundingstatuschange, funding_fundingrequest, funding_pooltotals, "
                "participants_account, participants_participant RESTART IDENTITY CASCADE"
            )
            cursor.execute(
                """INSERT INTO participants_participant (firm_id, external_id, participant_id, status, created_at)
                   SELECT %s, 'bench-' || g, 'firms/ISV-Participant-Bench/users/bench-' || g, 'active',
                          now() - interval '400 days'
                   FROM generate_series(1, %s) g""",
                [firm.pk, PARTICIPANTS],
            )
            cursor.execute(
                """INSERT INTO participants_account (participant_id, account_id, created_at)
                   SELECT id, 'firms/ISV-Bench/accounts/bench-' || id, created_at
                   FROM participants_participant ORDER BY id"""
            )
            cursor.execute(
                """INSERT INTO funding_fundingrequest (
                     participant_id, account_id, direction, amount, currency, external_reference, memo,
                     idempotency_key, status, status_changed_at, version, requested_by_id, created_at,
                     approved_by_id, approved_at, supervisor_required, second_approved_by_id,
                     second_approved_at, staff_reason, workflow_id, dco_transfer_id, exchange_status,
                     rejection_reason, exchange_error, last_error, sent_from_status, send_deadline,
                     send_attempts, first_sent_at, lease_until, settled_at)
                   SELECT a.participant_id, a.id, r.direction, r.amount, 'USD', 'wallet-' || r.g, '',
                          md5(r.g::text), r.status, r.created_at, 1, %(maker)s, r.created_at,
                          CASE WHEN r.status IN ('draft', 'awaiting_approval', 'declined', 'cancelled')
                               THEN NULL ELSE %(checker)s END,
                          CASE WHEN r.status IN ('draft', 'awaiting_approval', 'declined', 'cancelled')
                               THEN NULL ELSE r.created_at END,
                          false, NULL, NULL,
                          CASE WHEN r.status IN ('declined', 'cancelled') THEN 'Bench: entered twice' ELSE '' END,
                          CASE WHEN r.status IN ('confirmed', 'rejected', 'pending', 'ambiguous') THEN 'wf-' || r.g ELSE '' END,
                          CASE WHEN r.status = 'confirmed' THEN 'dco-' || r.g ELSE '' END,
                          CASE WHEN r.status IN ('confirmed', 'rejected', 'pending', 'ambiguous')
                               THEN 'CASH_MOVEMENT_STATUS_' || upper(r.status) ELSE '' END,
                          CASE WHEN r.status = 'rejected' THEN 'INSUFFICIENT_FUNDS' ELSE '' END,
                          CASE WHEN r.status = 'refused' THEN 'not_found' ELSE '' END,
                          CASE WHEN r.status IN ('outcome_unknown', 'refused') THEN 'Bench: not settled' ELSE '' END,
                          '', NULL,
                          CASE WHEN r.status IN ('draft', 'awaiting_approval', 'approved', 'declined', 'cancelled')
                               THEN 0 ELSE 1 END,
                          CASE WHEN r.status IN ('draft', 'awaiting_approval', 'approved', 'declined', 'cancelled')
                               THEN NULL ELSE r.created_at END,
                          NULL,
                          CASE WHEN r.status IN ('confirmed', 'rejected') THEN r.created_at + interval '1 second' END
                   FROM (
                     SELECT g,
                            CASE WHEN g %% 3 = 0 THEN 'withdrawal' ELSE 'deposit' END AS direction,
                            ((g %% 5000) + 1)::numeric(14, 2) AS amount,
                            CASE WHEN g %% 100 = 0 THEN (%(open)s::text[])[1 + (g / 100) %% 8]
                                 WHEN g %% 25 = 1 THEN 'rejected'
                                 WHEN g %% 33 = 2 THEN 'declined'
                                 WHEN g %% 33 = 3 THEN 'cancelled'
                                 ELSE 'confirmed' END AS status,
                            now() - ((%(rows)s - g) || ' seconds')::interval AS created_at
                     FROM generate_series(1, %(rows)s) g
                   ) r JOIN participants_account a ON a.id = 1 + (r.g %% %(accounts)s)""",
                {
                    "maker": staff["maker"].pk,
                    "checker": staff["checker"].pk,
                    "open": OPEN_STATES,
                    "rows": REQUESTS,
                    "accounts": PARTICIPANTS,
                },
            )
            cursor.execute(
                """INSERT INTO funding_fundingstatuschange (request_id, from_status, to_status, actor_id,
                     actor_label, source, detail, occurred_at)
                   SELECT id, '', status, NULL, 'bench-checker', 'exchange', '', created_at
                   FROM funding_fundingrequest"""
            )
            cursor.execute(
                """INSERT INTO funding_pooltotals (currency, top_ups, deposits, withdrawals)
                   SELECT 'USD', 100000000,
                          coalesce(sum(amount) FILTER (WHERE direction = 'deposit'), 0),
                          coalesce(sum(amount) FILTER (WHERE direction = 'withdrawal'), 0)
                   FROM funding_fundingrequest WHERE status = 'confirmed'"""
            )
            settle(cursor)
        print(
            f"filled {PARTICIPANTS:,} participants and {REQUESTS:,} funding requests in "
            f"{time.perf_counter() - started:.0f} s"
        )
    return {name: user.pk for name, user in staff.items()}


def main() -> None:
    # Its own database: the fill replaces participants, which bench/list_pages.py fills its way.
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/funding_bench")
    setup_django()
    from django.contrib.auth.models import User
    from django.test import Client

    from funding.models import FundingRequest

    users = fill()
    clients = {}
    for name, pk in users.items():
        clients[name] = Client()
        clients[name].force_login(User.objects.get(pk=pk))
    middle = FundingRequest.objects.filter(status="confirmed").order_by("id")[REQUESTS // 2 :][:1]
    deep = middle[0].pk
    some = FundingRequest.objects.filter(status="outcome_unknown").order_by("-id").first()
    assert some is not None
    pages = [
        ("checker", "/funding/", "funding queue, open states"),
        ("checker", "/funding/?view=mine", "queue, awaiting my approval"),
        ("checker", "/funding/?view=flight", "queue, in flight"),
        ("checker", "/funding/?view=attention", "queue, needing attention"),
        ("checker", "/funding/?direction=withdrawal", "queue, open withdrawals"),
        ("checker", "/funding/?status=confirmed", "queue, one final state of ~880,000 rows"),
        ("checker", f"/funding/?status=confirmed&after={deep}", "queue, a page deep in it"),
        (
            "checker",
            "/funding/?status=confirmed&direction=withdrawal",
            "queue, a final state, withdrawals",
        ),
        (
            "checker",
            f"/funding/?status=confirmed&participant={some.participant_id}",
            "queue, one participant's",
        ),
        ("checker", f"/funding/requests/{some.pk}/", "a request's page"),
        ("checker", "/funding/balance/", "funding account page (database side)"),
        ("checker", "/funding/export.csv?view=attention", "CSV export, needing attention"),
        ("checker", "/", "home, with treasury's counts"),
        (
            "checker",
            f"/onboarding/participants/{some.participant_id}/",
            "participant page with the funding panel",
        ),
        ("supervisor", "/funding/?view=mine", "queue, awaiting the supervisor"),
        ("superuser", "/admin/funding/fundingrequest/", "admin: funding requests"),
        (
            "superuser",
            "/admin/funding/fundingrequest/?status__exact=confirmed",
            "admin: requests, one state",
        ),
        (
            "superuser",
            "/admin/funding/fundingrequest/?q=wallet-424242",
            "admin: requests, search by reference",
        ),
        ("superuser", "/admin/funding/fundingstatuschange/", "admin: funding timelines"),
    ]
    rows = []
    for name, url, label in pages:
        median, p95, queries = measure(clients[name], url)
        rows.append(f"| {label} | `{url.split('?')[0]}` | {queries} | {median:.0f} | {p95:.0f} |")
        print(rows[-1])
    write_results(
        "funding-results",
        f"{REQUESTS:,} funding requests of {PARTICIPANTS:,} participants",
        rows,
    )


if __name__ == "__main__":
    main()
