"""Demo funding for `make run`: requests in each state, made, approved and sent through the real
services against the sandbox, by the demo's treasury people (maker `treasury`, checker `checker`,
second approver `supervisor`).

The first two transfers it sends meet the sandbox's PENDING and AMBIGUOUS modes, which `make run`
arms just before (scripts/sandbox_demo.py --stage-funding); they settle at the sandbox a minute and
a half later, and `manage.py funding_resume` then brings them to their final state. A deposit
larger than the pool holds is the exchange's own rejection (INSUFFICIENT_FUNDS).
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any, TextIO

from django.contrib.auth.models import User

from backoffice.gateway.errors import GatewayError
from funding.errors import FundingError
from funding.models import FundingRequest, PoolTopUp
from funding.services import (
    funding_request_approve,
    funding_request_cancel,
    funding_request_create,
    funding_request_decline,
    pool_topup_record,
)
from participants.models import Account, Participant

PROVISIONED_WITHIN_SECONDS = 30
# The sandbox's funding account opens with this much (scripts/sandbox_demo.py registers the firm).
POOL_OPENING = Decimal("1000000.00")

# (reference, direction, amount, what happens to it), in the order they are sent: the first two
# transfers sent meet the staged PENDING and AMBIGUOUS modes.
PLAN: list[tuple[str, str, str, str]] = [
    ("demo-pending", "deposit", "120.00", "approve"),
    ("demo-ambiguous", "deposit", "80.00", "approve"),
    ("demo-deposit", "deposit", "1500.00", "approve"),
    ("demo-withdrawal", "withdrawal", "200.00", "approve"),
    ("demo-rejected", "deposit", "2000000.00", "approve twice"),
    ("demo-awaiting", "withdrawal", "300.00", "leave"),
    ("demo-large", "deposit", "25000.00", "approve once"),
    ("demo-draft", "deposit", "50.00", "draft"),
    ("demo-declined", "withdrawal", "5000.00", "decline"),
    ("demo-cancelled", "deposit", "60.00", "cancel"),
]


def _provisioned_account() -> Account | None:
    """The first demo participant the exchange approved and provisioned (its approval arrives by
    webhook a moment after onboarding)."""
    deadline = time.monotonic() + PROVISIONED_WITHIN_SECONDS
    while True:
        account = (
            Account.objects.filter(participant__status=Participant.Status.ACTIVE)
            .exclude(participant__participant_id="")
            .select_related("participant")
            .order_by("id")
            .first()
        )
        if account is not None or time.monotonic() > deadline:
            return account
        time.sleep(0.5)


def seed(*, stdout: TextIO) -> None:
    if FundingRequest.objects.filter(external_reference__startswith="demo-").exists():
        return
    account = _provisioned_account()
    if account is None:
        stdout.write("No demo funding: no participant is provisioned yet; run seed_demo again.\n")
        return
    people = {
        u.username: u
        for u in User.objects.filter(username__in=["treasury", "checker", "supervisor"])
    }
    maker, checker, boss = people["treasury"], people["checker"], people["supervisor"]
    if not PoolTopUp.objects.exists():
        pool_topup_record(
            amount=POOL_OPENING,
            reference="demo-opening-balance",
            memo="The pool's opening balance",
            actor=maker,
        )
    for reference, direction, amount, fate in PLAN:
        try:
            request = funding_request_create(
                account=account,
                direction=direction,
                amount=amount,
                external_reference=reference,
                memo="Demo",
                actor=maker,
                for_approval=fate != "draft",
            )
            _carry_out(request, fate, checker=checker, boss=boss, maker=maker)
        except (FundingError, GatewayError) as exc:
            stdout.write(f"  {reference}: {exc}\n")
            continue
        request.refresh_from_db()
        stdout.write(f"  {reference}: {request.get_status_display()}\n")


def _carry_out(request: FundingRequest, fate: str, **people: Any) -> None:
    if fate in ("approve", "approve once", "approve twice"):
        funding_request_approve(request=request, actor=people["checker"], version=request.version)
    if fate == "approve twice":
        funding_request_approve(request=request, actor=people["boss"], version=request.version)
    if fate == "decline":
        funding_request_decline(
            request=request, actor=people["checker"], reason="The wallet shows no such instruction"
        )
    if fate == "cancel":
        funding_request_cancel(
            request=request, actor=people["maker"], reason="Entered twice by mistake"
        )
