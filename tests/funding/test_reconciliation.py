"""Funding's reconciliation checks against the sandbox exchange: each kind of difference made
through the sandbox's own hooks (or by a record of ours the exchange never saw) is exactly one
break with the right type and figures, and nothing else; a clean firm gives none; an outage
part-way names the accounts not checked and concludes nothing about them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from backoffice.context import command_context
from backoffice.reconciliation import dates
from backoffice.reconciliation.checks import Check, CheckContext
from backoffice.reconciliation.models import Break, BreakType, ReconciliationRun
from backoffice.reconciliation.runs import run_begin, run_execute
from funding.models import PoolTopUp, PoolTotals
from funding.reconciliation import MovementsCheck, PoolCheck, pair
from funding.services import funding_request_approve
from tests.factories import UserFactory
from tests.funding.live import as_staff, provision


def business_date() -> dt.date:
    """The business date now falls in: the movements the tests make are on it."""
    return dates.business_date_of(timezone.now())


def reconcile() -> ReconciliationRun:
    checks: list[Check] = [MovementsCheck(), PoolCheck()]
    with command_context("reconcile"):
        run = run_begin(business_date=business_date(), accounts=[], checks=checks, actor=None)
        return run_execute(run, checks, actor=None)


def found() -> list[tuple[str, str, Decimal | None, Decimal | None]]:
    return [
        (b.check_name, b.break_type, b.ours, b.theirs)
        for b in Break.objects.filter(status="open").order_by("id")
    ]


def deposit(live, amount: str):
    request = live.request(status="awaiting_approval", amount=Decimal(amount))
    with as_staff():
        return funding_request_approve(
            request=request, actor=UserFactory.create(roles=["treasury"]), version=request.version
        )


@pytest.fixture
def firm(live):
    """The pool's opening wire recorded here, as treasury records a top-up, and a deposit."""
    PoolTopUp.objects.create(
        amount=Decimal("1000000.00"), reference="opening", recorded_by=UserFactory.create()
    )
    PoolTotals.objects.update_or_create(currency="USD", defaults={"top_ups": Decimal("1000000.00")})
    assert deposit(live, "250.00").status == "confirmed"
    return live


def test_a_clean_firm_gives_no_break(firm):
    run = reconcile()

    assert (run.state, run.breaks_found, found()) == ("complete", 0, [])
    assert run.counts["movements"] == {"accounts": 1, "items": 2, "breaks": 0, "timing": 0}
    assert run.counts["pool"] == {"accounts": 1, "items": 1, "breaks": 0, "timing": 0}


def test_an_unrequested_deposit_is_missing_here(firm):
    account = firm.account.account_id
    response = firm.partner.admin(
        "POST", "/accounts/unrequested-deposit", {"account": account, "amount": "40.00"}
    )
    assert response.status_code == 200, response.text

    run = reconcile()

    assert found() == [("movements", BreakType.MISSING_HERE, None, Decimal("40.00"))]
    item = Break.objects.get()
    assert (item.account, item.key) == (account, f"entry|{response.json()['entryId']}")
    assert item.evidence["ledger_entry"] == response.json()["entryId"]
    assert run.state == "complete"


def test_a_movement_the_exchange_never_booked_is_missing_at_the_exchange(firm):
    ours = firm.request(
        status="confirmed", amount=Decimal("75.00"), settled_at=timezone.now(), workflow_id="wf-x"
    )
    PoolTotals.objects.filter(currency="USD").update(deposits=Decimal("325.00"))

    reconcile()

    assert found() == [
        ("movements", BreakType.MISSING_AT_EXCHANGE, Decimal("75.00"), None),
        ("pool", BreakType.AMOUNT_MISMATCH, Decimal("999675.00"), Decimal("999750.00")),
    ]
    movement = Break.objects.get(check_name="movements")
    assert (movement.key, movement.subject) == (f"movement|{ours.pk}", "wf-x")
    assert movement.evidence["funding_request"] == str(ours.pk)


def test_a_different_amount_is_an_amount_mismatch(firm):
    firm.request(status="confirmed", amount=Decimal("30.00"), settled_at=timezone.now())
    firm.partner.admin(
        "POST",
        "/accounts/unrequested-deposit",
        {"account": firm.account.account_id, "amount": "20.00"},
    )

    reconcile()

    # The unrequested deposit did not come out of the pool, and the request here was not
    # counted in the pool's totals: the pool agrees.
    assert found() == [("movements", BreakType.AMOUNT_MISMATCH, Decimal("30.00"), Decimal("20.00"))]


def test_the_pool_without_its_top_up_recorded_is_a_break(live):
    deposit(live, "250.00")

    reconcile()

    assert found() == [
        ("pool", BreakType.AMOUNT_MISMATCH, Decimal("-250.00"), Decimal("999750.00"))
    ]


def test_an_outage_part_way_names_the_accounts_and_raises_no_break(firm, settings):
    first = firm.account.account_id
    provision(firm)  # a second participant, with no movement of ours
    firm.partner.admin(
        "POST",
        "/accounts/unrequested-deposit",
        {"account": firm.account.account_id, "amount": "5.00"},
    )
    firm.fault(family="positions", kind="error", status=503, count=50)

    run = reconcile()

    assert run.state == "incomplete"
    # Its balance read fails; once the exchange has failed, no later account is asked either.
    second = firm.account.account_id
    expected = [second] if first < second else [second, first]
    assert sorted(run.not_checked) == sorted(expected)
    assert "the exchange failed (not_sent)" in run.not_checked[second]
    assert found() == []


def test_a_pair_across_the_cut_off_is_a_timing_difference_on_both_dates():
    from funding.models import FundingRequest
    from funding.reconciliation import Theirs

    cutoff = dt.datetime(2026, 11, 20, 22, tzinfo=dt.UTC)
    request = FundingRequest(
        pk=7,
        direction="deposit",
        amount=Decimal("10.00"),
        settled_at=cutoff - dt.timedelta(minutes=1),
    )
    entry = Theirs("le_1", "deposit", Decimal("10.00"), cutoff + dt.timedelta(minutes=2))

    def context(day_end: dt.datetime) -> CheckContext:
        return CheckContext(
            business_date=day_end.date(),
            window_start=day_end - dt.timedelta(days=1),
            window_end=day_end,
            timing_grace=dt.timedelta(minutes=30),
            tolerance=Decimal(0),
            accounts=frozenset(),
            page_size=10,
        )

    today = pair(context(cutoff), "acct", [request], [entry])
    tomorrow = pair(context(cutoff + dt.timedelta(days=1)), "acct", [request], [entry])

    assert [(f.key, f.break_type, f.timing) for f in today] == [
        ("movement|7", BreakType.MISSING_AT_EXCHANGE, True)
    ]
    assert [(f.key, f.break_type, f.timing) for f in tomorrow] == [
        ("movement|7", BreakType.MISSING_HERE, True)
    ]
