"""The database itself refuses what four eyes and money forbid, whatever code writes the row."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from funding.models import FundingRequest
from tests.factories import FundingRequestFactory, UserFactory


def _refused(request: FundingRequest, constraint: str, **values) -> None:
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        FundingRequest.objects.filter(pk=request.pk).update(**values)


@pytest.mark.parametrize("superuser", [False, True])
def test_the_requester_cannot_be_the_approver(db, superuser):
    maker = UserFactory.create(is_superuser=superuser)
    request = FundingRequestFactory.create(status="awaiting_approval", requested_by=maker)

    _refused(request, "funding_approver_not_requester", approved_by=maker)

    request.refresh_from_db()
    assert request.approved_by is None


def test_the_second_approver_is_a_third_person(db):
    request = FundingRequestFactory.create(status="awaiting_approval")
    checker = UserFactory.create()
    FundingRequest.objects.filter(pk=request.pk).update(approved_by=checker)

    _refused(request, "funding_second_approver_distinct", second_approved_by=checker)
    _refused(request, "funding_second_approver_distinct", second_approved_by=request.requested_by)


def test_a_second_approval_needs_a_first(db):
    request = FundingRequestFactory.create(status="awaiting_approval")

    _refused(request, "funding_second_approver_distinct", second_approved_by=UserFactory.create())


def test_nothing_is_approved_without_an_approver(db):
    request = FundingRequestFactory.create(status="awaiting_approval")

    _refused(request, "funding_approved_has_approver", status="approved")


def test_above_the_threshold_nothing_is_approved_without_the_supervisor(db):
    request = FundingRequestFactory.create(status="awaiting_approval")
    FundingRequest.objects.filter(pk=request.pk).update(
        approved_by=UserFactory.create(), supervisor_required=True
    )

    _refused(request, "funding_large_has_supervisor", status="approved")
    FundingRequest.objects.filter(pk=request.pk).update(
        status="approved", second_approved_by=UserFactory.create()
    )
    assert FundingRequest.objects.get(pk=request.pk).status == "approved"


@pytest.mark.parametrize("status", ["declined", "cancelled"])
def test_declining_or_cancelling_needs_a_reason(db, status):
    request = FundingRequestFactory.create(status="awaiting_approval")

    _refused(request, "funding_closed_has_reason", status=status)


@pytest.mark.parametrize(
    ("values", "constraint"),
    [
        ({"amount": Decimal("0.00")}, "funding_amount_positive"),
        ({"amount": Decimal("-5.00")}, "funding_amount_positive"),
        ({"currency": "EUR"}, "funding_currency_usd"),
        ({"direction": "transfer"}, "funding_direction_known"),
        ({"status": "paid"}, "funding_status_known"),
    ],
)
def test_money_and_vocabularies(db, values, constraint):
    request = FundingRequestFactory.create()

    _refused(request, constraint, **values)


def test_one_key_one_reference_one_workflow(db):
    first = FundingRequestFactory.create(workflow_id="wf-1")
    second = FundingRequestFactory.create()

    _refused(second, "idempotency_key", idempotency_key=first.idempotency_key)
    _refused(second, "external_reference", external_reference=first.external_reference)
    _refused(second, "workflow", workflow_id="wf-1")
