"""The positions check against the sandbox: the mirror that followed the streams agrees; a trade
the exchange busts that the mirror has not heard of yet is a quantity break with both sides'
figures; once the mirror follows, the next run closes it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from backoffice.context import command_context
from backoffice.reconciliation import dates
from backoffice.reconciliation.checks import Check
from backoffice.reconciliation.models import Break, BreakType, ReconciliationRun
from backoffice.reconciliation.runs import run_begin, run_execute
from tests.factories import AccountFactory
from trading.models import Trade
from trading.reconciliation import PositionsCheck

# The consumer applies the streams from threads of its own: their writes must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def reconcile() -> ReconciliationRun:
    checks: list[Check] = [PositionsCheck()]
    with command_context("reconcile"):
        run = run_begin(
            business_date=dates.business_date_of(timezone.now()),
            accounts=[],
            checks=checks,
            actor=None,
        )
        return run_execute(run, checks, actor=None)


def test_a_busted_trade_the_mirror_missed_is_a_quantity_break_until_it_follows(
    exchange, run_consumer
):
    pid, account = exchange.trader()
    AccountFactory.create(account_id=account, participant__participant_id=pid)
    exchange.order((pid, account), qty=500)
    exchange.order((pid, account), qty=300)
    run_consumer()

    clean = reconcile()
    assert (clean.state, clean.breaks_found) == ("complete", 0)
    assert clean.counts["positions"]["items"] == 1

    first = Trade.objects.get(qty=Decimal(5))
    exchange.admin("POST", f"/trades/{first.exchange_id}/bust")
    found = reconcile()

    item = Break.objects.get()
    assert (found.breaks_found, item.break_type, item.ours, item.theirs, item.unit) == (
        1,
        BreakType.QUANTITY_MISMATCH,
        Decimal(8),
        Decimal(3),
        "contracts",
    )
    assert item.evidence["exchange"]["net_position"] == "3"
    assert item.account == account

    run_consumer()
    closed = reconcile()
    item.refresh_from_db()
    assert (closed.breaks_closed, item.status, item.closed_by_run) == (1, "closed", closed)
