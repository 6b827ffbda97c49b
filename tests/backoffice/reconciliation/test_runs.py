"""The run itself, over a scripted check: breaks with their types and figures, one open break per
difference across re-runs, closed when no longer found, timing differences, one run at a time,
resuming from the checkpoint, an exchange failure part-way, and the exit codes."""

from __future__ import annotations

import datetime as dt
import socket
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from backoffice.audit.models import AuditEvent
from backoffice.reconciliation.models import (
    Break,
    BreakEvent,
    BreakType,
    ReconciliationRun,
    TimingDifference,
)

DAY = "2026-11-20"
ACCOUNTS = ["acct-1", "acct-2", "acct-3", "acct-4", "acct-5"]
CASH_SHORT = {"key": "cash", "type": "amount_mismatch", "ours": "100.00", "theirs": "90.00"}
MISSING = {"key": "wf-9", "type": "missing_at_exchange", "ours": "25.00", "theirs": None}

pytestmark = pytest.mark.django_db


def breaks() -> list[tuple[str, str, str, Decimal | None, Decimal | None, str]]:
    return [
        (b.account, b.key, b.break_type, b.ours, b.theirs, b.status)
        for b in Break.objects.order_by("key")
    ]


def test_a_clean_firm_gives_no_break_and_exit_0(script, reconcile):
    script(accounts=ACCOUNTS)

    status, summary, _ = reconcile("--as-of", DAY)

    run = ReconciliationRun.objects.get()
    assert (status, run.state, run.breaks_found) == (0, "complete", 0)
    assert summary["state"] == "complete"
    assert summary["breaks"] == {
        "found": 0,
        "opened": 0,
        "closed": 0,
        "by_type": {},
        "open_in_total": 0,
    }
    assert summary["checks"] == {"scripted": {"accounts": 5, "items": 5, "breaks": 0, "timing": 0}}
    assert run.window_end == dt.datetime(2026, 11, 20, 22, 0, tzinfo=dt.UTC)  # 17:00 EST
    assert run.window_start == dt.datetime(2026, 11, 19, 22, 0, tzinfo=dt.UTC)
    assert Break.objects.count() == 0
    assert list(AuditEvent.objects.values_list("action", flat=True).order_by("id")) == [
        "reconciliation.run.started",
        "reconciliation.run.complete",
    ]


def test_differences_become_breaks_with_both_sides_and_exit_1(script, reconcile):
    script(accounts=ACCOUNTS, findings={"acct-2": [CASH_SHORT], "acct-4": [MISSING]})

    status, summary, _ = reconcile("--as-of", DAY)

    assert status == 1
    assert breaks() == [
        ("acct-2", "acct-2|cash", "amount_mismatch", Decimal("100"), Decimal("90"), "open"),
        ("acct-4", "acct-4|wf-9", "missing_at_exchange", Decimal("25"), None, "open"),
    ]
    cash = Break.objects.get(account="acct-2")
    assert cash.difference == Decimal("-10")
    assert (cash.first_date, cash.last_date) == (dt.date(2026, 11, 20), dt.date(2026, 11, 20))
    assert summary["breaks"]["by_type"] == {"amount_mismatch": 1, "missing_at_exchange": 1}
    assert list(cash.events.values_list("kind", flat=True)) == ["opened"]


def test_re_running_a_date_adds_no_duplicate_and_closes_what_is_gone(script, reconcile):
    script(accounts=ACCOUNTS, findings={"acct-2": [CASH_SHORT], "acct-4": [MISSING]})
    reconcile("--as-of", DAY)
    first = ReconciliationRun.objects.get()
    fixed = {**CASH_SHORT, "theirs": "95.00"}
    script(accounts=ACCOUNTS, findings={"acct-2": [fixed]})

    status, summary, _ = reconcile("--as-of", DAY)

    second = ReconciliationRun.objects.latest("id")
    assert status == 1
    assert breaks() == [
        ("acct-2", "acct-2|cash", "amount_mismatch", Decimal("100"), Decimal("95"), "open"),
        ("acct-4", "acct-4|wf-9", "missing_at_exchange", Decimal("25"), None, "closed"),
    ]
    cash, gone = Break.objects.order_by("key")
    assert (cash.first_run, cash.last_run) == (first, second)
    assert list(cash.events.values_list("kind", flat=True)) == ["opened", "changed"]
    assert gone.closed_by_run == second
    assert (
        gone.events.get(kind="closed").text
        == f"No longer found by run #{second.pk} for 2026-11-20."
    )
    assert (summary["breaks"]["opened"], summary["breaks"]["closed"]) == (0, 1)


def test_a_run_for_some_accounts_closes_nothing_of_the_others(script, reconcile):
    script(accounts=ACCOUNTS, findings={"acct-2": [CASH_SHORT], "acct-4": [MISSING]})
    reconcile("--as-of", DAY)
    script(accounts=ACCOUNTS, findings={})

    status, summary, _ = reconcile("--as-of", DAY, "--account", "acct-2")

    assert (status, summary["checks"]["scripted"]["accounts"]) == (0, 1)
    assert [b[-1] for b in breaks()] == ["closed", "open"]


def test_an_exchange_failure_part_way_names_the_accounts_and_concludes_nothing(script, reconcile):
    script(accounts=ACCOUNTS, findings={"acct-2": [CASH_SHORT], "acct-4": [MISSING]})
    reconcile("--as-of", DAY)
    script(accounts=ACCOUNTS, findings={}, fail_from="acct-3")

    status, summary, _ = reconcile("--as-of", DAY)

    run = ReconciliationRun.objects.latest("id")
    assert (status, run.state) == (2, "incomplete")
    assert summary["not_checked"] == ["acct-3", "acct-4", "acct-5"]
    assert summary["not_checked_reasons"] == [
        "the exchange failed (not_sent): unavailable [HTTP 503]: the exchange answered 503"
    ]
    # acct-2 was checked and is clean now; acct-4 was not checked, so its break stays open.
    assert [(b[0], b[-1]) for b in breaks()] == [("acct-2", "closed"), ("acct-4", "open")]


def test_a_check_that_breaks_fails_the_run_with_exit_2(script, reconcile, settings):
    script(accounts=ACCOUNTS)
    settings.BACKOFFICE_RECONCILIATION_CHECKS = [
        "tests.backoffice.reconciliation.fakes.BrokenCheck"
    ]

    with pytest.raises(ZeroDivisionError):
        reconcile("--as-of", DAY)

    run = ReconciliationRun.objects.get()
    assert (run.state, run.error) == ("failed", "ZeroDivisionError: division by zero")


def test_timing_differences_are_carried_then_matched_not_raised(script, reconcile):
    late = {"key": "wf-7", "type": "missing_at_exchange", "ours": "40.00", "timing": True}
    script(accounts=ACCOUNTS, findings={"acct-1": [late]})

    status, summary, _ = reconcile("--as-of", DAY)

    assert (status, summary["timing_differences"], Break.objects.count()) == (0, 1, 0)
    assert list(TimingDifference.objects.values_list("key", "status")) == [
        ("acct-1|wf-7", "carried")
    ]
    status, _, _ = reconcile("--as-of", "2026-11-21")

    assert status == 0
    assert sorted(TimingDifference.objects.values_list("status", flat=True)) == [
        "matched",
        "matched",
    ]
    carried = TimingDifference.objects.get(run__business_date=dt.date(2026, 11, 20))
    assert carried.matched_run == ReconciliationRun.objects.latest("id")


def test_a_second_run_while_one_is_alive_exits_with_a_clear_message(script, reconcile):
    script(accounts=ACCOUNTS)
    alive = ReconciliationRun.objects.create(
        business_date=dt.date(2026, 11, 19),
        window_start=timezone.now() - dt.timedelta(days=1),
        window_end=timezone.now(),
        checks=["scripted"],
        origin="command:reconcile",
        holder="another-host:4242",
        lease_until=timezone.now() + dt.timedelta(minutes=5),
    )

    status, summary, err = reconcile("--as-of", DAY)

    assert (status, summary) == (2, {})
    assert f"not started: run #{alive.pk} for 2026-11-19 is in progress" in err
    assert "held by another-host:4242" in err
    assert ReconciliationRun.objects.count() == 1
    assert Break.objects.count() == 0


def test_a_run_whose_process_died_is_resumed_from_its_checkpoint(script, reconcile):
    """Pages up to the checkpoint are not asked for again; the breaks are an uninterrupted run's."""
    findings = {"acct-2": [CASH_SHORT], "acct-4": [MISSING]}
    script(accounts=ACCOUNTS, findings=findings)
    reconcile("--as-of", DAY)
    uninterrupted = breaks()
    BreakEvent.objects.all().delete()
    Break.objects.all().delete()
    ReconciliationRun.objects.all().delete()
    # A run that wrote its first page (acct-1, acct-2) and whose process is gone.
    dead = ReconciliationRun.objects.create(
        business_date=dt.date(2026, 11, 20),
        window_start=dt.datetime(2026, 11, 19, 22, tzinfo=dt.UTC),
        window_end=dt.datetime(2026, 11, 20, 22, tzinfo=dt.UTC),
        checks=["scripted"],
        checkpoint={"scripted": {"cursor": "acct-2", "done": False}},
        counts={"scripted": {"accounts": 2, "items": 2, "breaks": 1, "timing": 0}},
        breaks_found=1,
        breaks_opened=1,
        origin="command:reconcile",
        holder=f"{socket.gethostname()}:999999999",
        lease_until=timezone.now() + dt.timedelta(minutes=5),
    )
    Break.objects.create(
        check_name="scripted",
        key="acct-2|cash",
        break_type="amount_mismatch",
        account="acct-2",
        subject="cash",
        ours=Decimal("100.00"),
        theirs=Decimal("90.00"),
        difference=Decimal("-10.00"),
        summary="cash differs",
        first_run=dead,
        last_run=dead,
        first_date=dead.business_date,
        last_date=dead.business_date,
    )

    status, summary, _ = reconcile("--as-of", DAY)

    assert status == 1
    assert (summary["run"], summary["resumes"]) == (dead.pk, 1)
    assert summary["checks"]["scripted"]["accounts"] == 5
    assert summary["breaks"]["found"] == 2
    assert breaks() == uninterrupted
    assert AuditEvent.objects.filter(action="reconciliation.run.resumed").count() == 1


def test_a_dry_run_writes_nothing(script, reconcile):
    script(accounts=ACCOUNTS, findings={"acct-2": [CASH_SHORT]})

    status, report, _ = reconcile("--as-of", DAY, "--dry-run")

    assert status == 1
    assert report["breaks"] == {"found": 1, "by_type": {"amount_mismatch": 1}}
    assert report["findings"] == [
        {
            "check": "scripted",
            "key": "acct-2|cash",
            "type": "amount_mismatch",
            "timing": False,
            "summary": "cash differs",
        }
    ]
    assert ReconciliationRun.objects.count() == Break.objects.count() == 0
    assert AuditEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-13-01", "--as-of: '2026-13-01' is not a date (YYYY-MM-DD)"),
        ("2099-01-01", "--as-of: 2099-01-01 has not closed yet"),
    ],
)
def test_a_bad_date_is_refused_naming_the_option(script, value, message):
    from django.core.management import CommandError, call_command

    script(accounts=ACCOUNTS)
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call_command("reconcile", "--as-of", value)
    assert ReconciliationRun.objects.count() == 0


def test_each_page_costs_the_same_queries_whatever_it_holds(
    script, settings, django_assert_num_queries
):
    """A page of 2 accounts and a page of 200 (30 on SQLite, whose bulk writes go in batches of
    999 values), with a break on each account, breaks to update and breaks to close: the same
    number of queries."""
    from backoffice.reconciliation.checks import CheckPage, Finding
    from backoffice.reconciliation.runs import _apply_page, run_begin
    from tests.backoffice.reconciliation.fakes import ScriptedCheck

    script(accounts=[])

    def page(accounts: list[str], tag: str) -> CheckPage:
        found = [
            Finding(key=f"{a}|{tag}", break_type=BreakType.AMOUNT_MISMATCH, summary="x", account=a,
                    ours=Decimal(1), theirs=Decimal(2))
            for a in accounts
        ]  # fmt: skip
        timing = [Finding(key=f"{a}|t", break_type=BreakType.MISSING_HERE, summary="t", account=a,
                          timing=True) for a in accounts]  # fmt: skip
        return CheckPage(cursor=accounts[-1], scopes=accounts, findings=found + timing, items=1)

    size = 30 if connection.vendor == "sqlite" else 200
    small = [f"a{i:03}" for i in range(2)]
    large = [f"b{i:03}" for i in range(size)]
    earlier = run_begin(
        business_date=dt.date(2026, 11, 19), accounts=[], checks=[ScriptedCheck()], actor=None
    )
    for accounts in (small, large):
        _apply_page(earlier, "scripted", page(accounts, "gone"))  # breaks to close
        _apply_page(earlier, "scripted", page(accounts, "kept"))  # breaks to update
    earlier.state = "complete"
    earlier.save()
    run = run_begin(
        business_date=dt.date(2026, 11, 20), accounts=[], checks=[ScriptedCheck()], actor=None
    )

    def again(accounts: list[str]) -> CheckPage:
        changed = page(accounts, "kept")
        for f in changed.findings:
            object.__setattr__(f, "theirs", Decimal(3))
        return CheckPage(cursor=changed.cursor, scopes=accounts,
                         findings=changed.findings + page(accounts, "new").findings)  # fmt: skip

    with django_assert_num_queries(13) as small_queries:
        _apply_page(run, "scripted", again(small))
    with django_assert_num_queries(len(small_queries.captured_queries)):
        _apply_page(run, "scripted", again(large))
    assert Break.objects.filter(status="open").count() == 2 * (2 + size)
    assert Break.objects.filter(status="closed").count() == 2 + size


@pytest.mark.django_db(transaction=True)
def test_killed_half_way_then_resumed_ends_with_the_same_breaks(script, reconcile, tmp_path):
    """SIGKILL a `reconcile` process after its first page; the next run resumes it."""
    import os
    import signal

    from tests.backoffice.reconciliation.fakes import SCRIPT_ENV
    from tests.backoffice.reconciliation.processes import start, wait_until

    findings = {"acct-2": [CASH_SHORT], "acct-4": [MISSING]}
    script(accounts=ACCOUNTS, findings=findings, stall_after_pages=1)
    process = start(
        ["--as-of", DAY],
        settings_module="tests.backoffice.reconciliation.subprocess_settings",
        env={SCRIPT_ENV: os.environ[SCRIPT_ENV]},
    )
    try:
        wait_until(
            lambda: ReconciliationRun.objects.filter(checkpoint__scripted__cursor="acct-2").exists()
        )
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    killed = ReconciliationRun.objects.get()
    assert (killed.state, killed.breaks_found) == ("running", 1)

    script(accounts=ACCOUNTS, findings=findings)
    status, summary, _ = reconcile("--as-of", DAY)

    assert (status, summary["run"], summary["resumes"]) == (1, killed.pk, 1)
    assert breaks() == [
        ("acct-2", "acct-2|cash", "amount_mismatch", Decimal("100"), Decimal("90"), "open"),
        ("acct-4", "acct-4|wf-9", "missing_at_exchange", Decimal("25"), None, "open"),
    ]
    assert summary["checks"]["scripted"] == {"accounts": 5, "items": 5, "breaks": 2, "timing": 0}


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_cannot_both_proceed(script, tmp_path):
    import os

    from tests.backoffice.reconciliation.fakes import SCRIPT_ENV
    from tests.backoffice.reconciliation.processes import start, wait_until

    script(accounts=ACCOUNTS, stall_after_pages=1)
    args = ["--as-of", DAY]
    env = {SCRIPT_ENV: os.environ[SCRIPT_ENV]}
    settings_module = "tests.backoffice.reconciliation.subprocess_settings"
    first = start(args, settings_module=settings_module, env=env)
    try:
        wait_until(
            lambda: ReconciliationRun.objects.filter(checkpoint__scripted__cursor="acct-2").exists()
        )
        second = start(args, settings_module=settings_module, env=env)
        _, err = second.communicate(timeout=60)
    finally:
        first.kill()
        first.wait()

    assert second.returncode == 2
    run = ReconciliationRun.objects.get()
    assert f"reconcile: not started: run #{run.pk} for 2026-11-20 is in progress" in err
