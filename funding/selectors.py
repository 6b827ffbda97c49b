"""Reads for funding pages and jobs that are more than a filter."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from funding.models import FundingRequest

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
