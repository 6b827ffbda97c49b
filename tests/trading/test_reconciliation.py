"""The positions and cash checks against the sandbox: the mirror that followed the streams agrees;
a trade the exchange busts that the mirror has not heard of yet is a quantity break and a cash
break (the bust gave the buyer its money back) with both sides' figures; once the mirror
follows, the next run closes both. The exchange's positions come in bulk (one valuations
statement for the page of accounts); only an account whose totals differ is read position by
position. The cash and positions checks replay each page of accounts once between them, and an
exchange failure in a read made ahead of the page being worked on leaves that page and the rest
unchecked, concluding nothing about them."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backoffice.context import command_context
from backoffice.gateway.client import reset_gateway
from backoffice.gateway.models import GatewayCall
from backoffice.gateway.transport import Request, RequestsTransport, Response
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


def reconcile(checks: list[Check] | None = None) -> ReconciliationRun:
    checks = checks or [CashCheck(), PositionsCheck()]
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


def funded_trader(exchange) -> tuple[str, str]:
    """A trader at the exchange, with its opening deposit as our records have it."""
    pid, account = exchange.trader()
    FundingRequestFactory.create(
        account=AccountFactory.create(account_id=account, participant__participant_id=pid),
        status="confirmed",
        amount=Decimal("1000.00"),
        settled_at=timezone.now(),
    )
    return pid, account


def test_cash_and_positions_replay_each_page_of_accounts_once(exchange, run_consumer, settings):
    settings.RECONCILIATION_PAGE_SIZE = 1
    buyer, seller = funded_trader(exchange), funded_trader(exchange)
    exchange.order(buyer, qty=500)
    exchange.order(seller, side="SIDE_SELL", qty=200, price=40)
    run_consumer()

    with CaptureQueriesContext(connection) as queries:
        run = reconcile()

    assert (run.state, run.breaks_found) == ("complete", 0)
    assert run.counts["cash"]["accounts"] == run.counts["positions"]["accounts"] == 2
    assert run.counts["positions"]["items"] == 2
    executions = [q for q in queries if 'FROM "trading_execution"' in q["sql"]]
    assert len(executions) == 2  # two pages of one account: one replay each, for both checks


class BalanceFails(RequestsTransport):
    """The real transport, except that the balance of `account` is unavailable while armed."""

    account = ""

    def send(self, request: Request) -> Response:
        if (
            BalanceFails.account
            and request.url.endswith("/v1/positions/balance")
            and (request.json or {}).get("name") == BalanceFails.account
        ):
            return Response(status=503, headers={}, body=b'{"code": 14, "message": "busy"}')
        return super().send(request)


def test_a_failure_in_the_read_made_ahead_leaves_the_rest_unchecked_and_no_break(
    exchange, settings, monkeypatch
):
    settings.RECONCILIATION_PAGE_SIZE = 1
    settings.POLYMARKET_MAX_ATTEMPTS = 1
    traders = sorted((funded_trader(exchange) for _ in range(3)), key=lambda t: t[1])
    (first_pid, _), (second_pid, second), (_, third) = traders
    monkeypatch.setattr("backoffice.gateway.client.RequestsTransport", BalanceFails)
    monkeypatch.setattr(BalanceFails, "account", second)
    reset_gateway()
    exchange_reads()

    # The second page's balance is read ahead, while the first page is compared.
    run = reconcile([CashCheck()])

    assert (run.state, run.breaks_found, Break.objects.count()) == ("incomplete", 0, 0)
    assert sorted(run.not_checked) == [second, third]
    assert run.not_checked[second].startswith("the exchange failed (not_sent): unavailable")
    assert run.counts["cash"] == {"accounts": 1, "items": 1, "breaks": 0, "timing": 0}
    # The failed read is recorded; the third account's balance is not asked once it failed.
    balances = GatewayCall.objects.filter(operation="balance").order_by("id")
    assert list(balances.values_list("outcome", "participant_id")) == [
        ("ok", first_pid),
        ("Unavailable", second_pid),
    ]

    monkeypatch.setattr(BalanceFails, "account", "")
    again = reconcile([CashCheck()])
    assert (again.state, again.breaks_found, again.not_checked) == ("complete", 0, {})
