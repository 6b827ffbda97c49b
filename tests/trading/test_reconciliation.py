"""The positions and cash checks against the sandbox: the mirror that followed the streams agrees;
a trade the exchange busts that the mirror has not heard of yet is a quantity break and a cash
break (the bust gave the buyer its money back) with both sides' figures; once the mirror
follows, the next run closes both. The exchange's positions come in bulk (one valuations
statement for the page of accounts); only an account whose totals differ is read position by
position."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from django.utils import timezone

from backoffice.context import command_context
from backoffice.gateway.models import GatewayCall
from backoffice.reconciliation import dates
from backoffice.reconciliation.checks import Check
from backoffice.reconciliation.models import Break, BreakType, ReconciliationRun
from backoffice.reconciliation.runs import run_begin, run_execute
from funding.reconciliation import CashCheck
from tests.factories import AccountFactory, FundingRequestFactory
from trading.models import Execution, Trade
from trading.reconciliation import PositionsCheck

# The consumer applies the streams from threads of its own: their writes must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def exchange_reads() -> dict[str, int]:
    """The exchange reads made since the last call, by operation."""
    counted = dict(Counter(GatewayCall.objects.values_list("operation", flat=True)))
    GatewayCall.objects.all().delete()
    return counted


def reconcile() -> ReconciliationRun:
    checks: list[Check] = [CashCheck(), PositionsCheck()]
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
    ours = AccountFactory.create(account_id=account, participant__participant_id=pid)
    # The trader's opening deposit, as our records have it.
    FundingRequestFactory.create(
        account=ours, status="confirmed", amount=Decimal("1000.00"), settled_at=timezone.now()
    )
    exchange.order((pid, account), qty=500)
    exchange.order((pid, account), qty=300)
    other_pid, other = exchange.trader()
    other_account = AccountFactory.create(account_id=other, participant__participant_id=other_pid)
    FundingRequestFactory.create(
        account=other_account,
        status="confirmed",
        amount=Decimal("1000.00"),
        settled_at=timezone.now(),
    )
    exchange.order((other_pid, other), side="SIDE_SELL", qty=200, price=40)
    run_consumer()
    exchange_reads()

    clean = reconcile()
    assert (clean.state, clean.breaks_found) == ("complete", 0)
    assert clean.counts["positions"] == {"accounts": 2, "items": 2, "breaks": 0, "timing": 0}
    assert clean.counts["cash"]["items"] == 2
    assert exchange_reads() == {"balance": 2, "statement": 1}

    first = Trade.objects.get(qty=Decimal(5))
    fill = Execution.objects.get(trade_id=first.exchange_id, account=account)
    assert fill.last_px is not None
    exchange.admin("POST", f"/trades/{first.exchange_id}/bust")
    found = reconcile()

    assert found.breaks_found == 2
    # The bust changed the first account's totals, and only its positions are read.
    reads = exchange_reads()
    assert (reads["balance"], reads["statement"], reads["positions"]) == (2, 1, 1)
    cash = Break.objects.get(check_name="cash")
    assert (cash.break_type, cash.account) == (BreakType.AMOUNT_MISMATCH, account)
    assert cash.difference == fill.last_shares * fill.last_px + fill.commission
    item = Break.objects.get(check_name="positions")
    assert (item.break_type, item.ours, item.theirs, item.unit) == (
        BreakType.QUANTITY_MISMATCH,
        Decimal(8),
        Decimal(3),
        "contracts",
    )
    assert item.evidence["exchange"]["net_position"] == "3"
    assert item.account == account

    run_consumer()
    closed = reconcile()
    assert (closed.breaks_found, closed.breaks_closed) == (0, 2)
    assert set(Break.objects.values_list("status", "closed_by_run")) == {("closed", closed.pk)}
