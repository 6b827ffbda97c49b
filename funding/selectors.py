"""Reads for funding pages and jobs that are more than a filter."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Count, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404

from backoffice.identity.permissions import has_permission
from funding.models import (
    ATTENTION,
    IN_FLIGHT_STATUSES,
    OPEN_STATUSES,
    Direction,
    FundingRequest,
)
from funding.states import TERMINAL
from participants.models import Account

S = FundingRequest.Status


def sends_interrupted(*, now: dt.datetime) -> QuerySet[FundingRequest]:
    """Sends whose deadline passed: their process died between the claim and the record."""
    return FundingRequest.objects.filter(status=S.SUBMITTING, send_deadline__lt=now).order_by("id")


def to_send() -> QuerySet[FundingRequest]:
    """What funding_resume sends or replays: approved and not yet sent, or sent with an outcome
    not settled. Deposits first (the exchange's advice when both wait), then oldest first."""
    return (
        FundingRequest.objects.filter(status__in=[S.APPROVED, S.OUTCOME_UNKNOWN, S.AMBIGUOUS])
        .select_related("participant", "account")
        .order_by("direction", "id")
    )


def pending_at_exchange() -> QuerySet[FundingRequest]:
    return FundingRequest.objects.filter(status=S.PENDING).order_by("direction", "id")


# --- Pages --------------------------------------------------------------------------------------

QUEUE_VIEWS = {
    "open": "Open",
    "mine": "Awaiting my approval",
    "flight": "In flight",
    "attention": "Needing attention",
}


def request_for_user(*, user: User, pk: int) -> FundingRequest:
    """The request `pk` if `user` may see it (404 otherwise): the one door pages go through."""
    if not has_permission(user, "funding.view_fundingrequest"):
        raise Http404
    try:
        return FundingRequest.objects.select_related(
            "participant", "account", "requested_by", "approved_by", "second_approved_by"
        ).get(pk=pk)
    except FundingRequest.DoesNotExist as exc:
        raise Http404 from exc


def awaiting_approval_by(user: User) -> Q:
    """Requests awaiting an approval `user` may give: never their own, never twice."""
    mine = Q(pk__in=[])
    if has_permission(user, "funding.approve_fundingrequest"):
        mine |= Q(approved_by__isnull=True)
    if has_permission(user, "funding.approve_large_fundingrequest"):
        mine |= Q(
            approved_by__isnull=False, supervisor_required=True, second_approved_by__isnull=True
        ) & ~Q(approved_by=user)
    return Q(status=S.AWAITING_APPROVAL) & ~Q(requested_by=user) & mine


@dataclass(frozen=True)
class QueueFilters:
    view: str = "open"  # one of QUEUE_VIEWS, unless `status` is set
    status: str = ""
    direction: str = ""
    participant: int | None = None

    @property
    def final(self) -> bool:
        return self.status in TERMINAL


def queue(*, filters: QueueFilters, user: User) -> QuerySet[FundingRequest]:
    requests = FundingRequest.objects.select_related("participant", "requested_by", "approved_by")
    if filters.status:
        requests = requests.filter(status=filters.status)
    elif filters.view == "mine":
        requests = requests.filter(awaiting_approval_by(user))
    elif filters.view == "flight":
        requests = requests.filter(status__in=IN_FLIGHT_STATUSES)
    elif filters.view == "attention":
        requests = requests.filter(ATTENTION)
    else:
        requests = requests.filter(status__in=OPEN_STATUSES)
    if filters.direction:
        requests = requests.filter(direction=filters.direction)
    if filters.participant is not None:
        requests = requests.filter(participant_id=filters.participant)
    return requests


def queue_counts(*, user: User) -> dict[str, int]:
    """How many open requests wait in each open state and in each view of the queue, in one
    read of the open requests (final ones only grow, and are not counted)."""
    counts: dict[str, Any] = {
        status: Count("id", filter=Q(status=status)) for status in OPEN_STATUSES
    }
    counts["mine"] = Count("id", filter=awaiting_approval_by(user))
    counts["flight"] = Count("id", filter=Q(status__in=IN_FLIGHT_STATUSES))
    counts["attention"] = Count("id", filter=ATTENTION)
    counts["open"] = Count("id")
    return FundingRequest.objects.filter(status__in=OPEN_STATUSES).aggregate(**counts)


def participant_requests(*, participant_id: int, limit: int) -> list[FundingRequest]:
    return list(
        FundingRequest.objects.filter(participant_id=participant_id).order_by("-id")[:limit]
    )


@dataclass(frozen=True)
class DayTotals:
    deposits: Decimal
    deposit_count: int
    withdrawals: Decimal
    withdrawal_count: int


def confirmed_between(*, start: dt.datetime, end: dt.datetime) -> DayTotals:
    """Confirmed deposits and withdrawals settled in [start, end), read off their index."""
    zero = Value(Decimal("0.00"))
    deposit, withdrawal = Q(direction=Direction.DEPOSIT), Q(direction=Direction.WITHDRAWAL)
    found = FundingRequest.objects.filter(
        status=S.CONFIRMED, settled_at__gte=start, settled_at__lt=end
    ).aggregate(
        deposits=Coalesce(Sum("amount", filter=deposit), zero),
        deposit_count=Count("id", filter=deposit),
        withdrawals=Coalesce(Sum("amount", filter=withdrawal), zero),
        withdrawal_count=Count("id", filter=withdrawal),
    )
    return DayTotals(**found)


def in_flight_by_direction() -> dict[str, Decimal]:
    """What is approved and not final at the exchange, by direction: what may explain a pool
    balance that differs from the identity for a moment."""
    rows = (
        FundingRequest.objects.filter(status__in=IN_FLIGHT_STATUSES)
        .values("direction")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    return {row["direction"]: row["total"] for row in rows}


class AccountNotFound(Exception):
    pass


def account_for(text: str) -> Account:
    """The participant account a person typed: its exchange id, or the external id of a
    participant who has exactly one account."""
    value = text.strip()
    account = Account.objects.select_related("participant").filter(account_id=value).first()
    if account is not None:
        return account
    accounts = list(
        Account.objects.select_related("participant").filter(participant__external_id=value)[:2]
    )
    if len(accounts) == 1:
        return accounts[0]
    if accounts:
        raise AccountNotFound(f"Participant {value} has several accounts: enter the account id.")
    raise AccountNotFound("No account has this id, and no participant this external id.")
