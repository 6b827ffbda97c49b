"""The cash check against the sandbox exchange: a balance the exchange changed with no record of
ours (its manual-adjustment hook) is exactly one cash break with both figures, and nothing else;
a clean firm gives none; a deposit confirmed here just before the cut-off and booked there just
after is a timing difference, matched by the next date's run."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.test import override_settings
from django.utils import timezone

from backoffice.context import command_context
from backoffice.reconciliation import dates
from backoffice.reconciliation.checks import Check
from backoffice.reconciliation.models import Break, BreakType, ReconciliationRun, TimingDifference
from backoffice.reconciliation.runs import run_begin, run_execute
from funding.models import FundingRequest
from funding.reconciliation import CashCheck, MovementsCheck, PoolCheck
from tests.funding.test_reconciliation import deposit, firm  # noqa: F401 - the fixture

CHECKS: list[Check] = [CashCheck(), MovementsCheck(), PoolCheck()]


def reconcile(day: dt.date, checks: list[Check] = CHECKS) -> ReconciliationRun:
    with command_context("reconcile"):
        run = run_begin(business_date=day, accounts=[], checks=checks, actor=None)
        return run_execute(run, checks, actor=None)


def today() -> dt.date:
    return dates.business_date_of(timezone.now())


def test_a_clean_firm_gives_no_cash_break(firm):  # noqa: F811
    run = reconcile(today())

    assert (run.state, run.breaks_found, Break.objects.count()) == ("complete", 0, 0)
    assert run.counts["cash"] == {"accounts": 1, "items": 1, "breaks": 0, "timing": 0}


def test_a_manual_adjustment_at_the_exchange_is_one_cash_break(firm):  # noqa: F811
    account = firm.account.account_id
    firm.partner.admin(
        "POST", "/accounts/adjust", {"account": account, "amount": "-12.50", "description": "fee"}
    )

    run = reconcile(today())

    assert [
        (b.check_name, b.break_type, b.ours, b.theirs, b.difference, b.account)
        for b in Break.objects.all()
    ] == [
        (
            "cash",
            BreakType.AMOUNT_MISMATCH,
            Decimal("250.00"),
            Decimal("237.50"),
            Decimal("-12.50"),
            account,
        )
    ]
    item = Break.objects.get()
    assert (item.evidence["movements"], item.evidence["trading"]) == ("250.00", "0.00")
    assert (run.state, run.breaks_found) == ("complete", 1)

    # Fixed at the exchange, the next run closes it.
    firm.partner.admin("POST", "/accounts/adjust", {"account": account, "amount": "12.50"})
    again = reconcile(today())
    item.refresh_from_db()
    assert (again.breaks_closed, item.status) == (1, "closed")


def test_a_deposit_split_by_the_cut_off_is_matched_on_the_next_date(live):
    before = timezone.now()
    request = deposit(live, "100.00")
    assert request.status == "confirmed"
    # The cut-off falls a minute before the exchange booked it; our record says it was
    # confirmed a minute before the cut-off.
    cutoff = before.replace(second=0, microsecond=0) - dt.timedelta(minutes=1)
    FundingRequest.objects.filter(pk=request.pk).update(settled_at=cutoff - dt.timedelta(minutes=1))
    local = cutoff.astimezone(dates._zone())
    checks: list[Check] = [CashCheck(), MovementsCheck()]

    with override_settings(RECONCILIATION_CUTOFF=f"{local:%H:%M}"):
        day = dates.business_date_of(cutoff)
        assert dates.cutoff(day) == cutoff
        first = reconcile(day, checks)
        second = reconcile(day + dt.timedelta(days=1), checks)

    assert (first.state, first.breaks_found, first.timing_differences) == ("complete", 0, 2)
    assert (second.state, second.breaks_found, second.timing_differences) == ("complete", 0, 2)
    assert Break.objects.count() == 0
    cash = TimingDifference.objects.get(check_name="cash", run=first)
    assert (cash.key, cash.status, cash.matched_run) == (
        f"cash|{live.account.account_id}|{cutoff.isoformat()}",
        "matched",
        second,
    )
    assert cash.evidence["ours_after_grace"] == cash.evidence["theirs_after_grace"] == "100.00"
