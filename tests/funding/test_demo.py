"""`make run`'s demo funding, against the sandbox: requests in each state, the sandbox's PENDING,
AMBIGUOUS and REJECTED among them, settled by funding_resume, the pool identity holding."""

from __future__ import annotations

import io
from decimal import Decimal

from django.core.management import call_command

from backoffice.context import command_context
from backoffice.gateway.client import get_gateway
from funding.models import FundingRequest, PoolTotals
from funding.resume import funding_resume


def test_the_demo_makes_a_request_in_each_state_and_they_settle(live, settings):
    settings.SSO_MODE = "local"
    settings.BACKOFFICE_DEMO_SEEDERS = ["funding.demo.seed"]
    live.fault(family="cash", kind="cash_pending", count=1, settleAfter=0)
    live.fault(family="cash", kind="cash_ambiguous", count=1, settleAfter=0)

    out = io.StringIO()
    call_command("seed_demo", "--password", "demo-password", stdout=out)
    call_command("seed_demo", "--password", "demo-password", stdout=io.StringIO())

    states = dict(FundingRequest.objects.values_list("external_reference", "status"))
    assert states == {
        "demo-pending": "pending",
        "demo-ambiguous": "ambiguous",
        "demo-deposit": "confirmed",
        "demo-withdrawal": "confirmed",
        "demo-rejected": "rejected",
        "demo-awaiting": "awaiting_approval",
        "demo-large": "awaiting_approval",
        "demo-draft": "draft",
        "demo-declined": "declined",
        "demo-cancelled": "cancelled",
    }
    assert "  demo-rejected: Rejected by the exchange\n" in out.getvalue()
    assert FundingRequest.objects.get(external_reference="demo-rejected").rejection_reason == (
        "INSUFFICIENT_FUNDS"
    )

    live.partner.tick()
    with command_context("funding_resume"):
        funding_resume()

    assert {
        r: s
        for r, s in FundingRequest.objects.values_list("external_reference", "status")
        if r in ("demo-pending", "demo-ambiguous")
    } == {"demo-pending": "confirmed", "demo-ambiguous": "confirmed"}
    totals = PoolTotals.objects.get(currency="USD")
    assert totals.expected_balance == Decimal("998500.00")
    assert get_gateway().funding_account_balance(actor=None).balance == Decimal("998500.00")
