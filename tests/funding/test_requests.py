"""Making, editing, declining and cancelling requests: what is refused names the field, and a
refusal changes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backoffice.audit.models import AuditEvent
from funding.errors import FundingError
from funding.models import FundingRequest, FundingStatusChange
from funding.services import (
    clean_amount,
    funding_request_cancel,
    funding_request_create,
    funding_request_decline,
    funding_request_edit,
    funding_request_send_for_approval,
)
from tests.factories import AccountFactory, FundingRequestFactory, UserFactory


def create(account, actor, **overrides):
    values = {
        "account": account,
        "direction": "deposit",
        "amount": "250.00",
        "external_reference": "wallet-0001",
        "memo": "first deposit",
        "actor": actor,
        "for_approval": True,
    }
    values.update(overrides)
    return funding_request_create(**values)


def test_a_request_is_recorded_with_its_key_and_sent_for_approval(staff, account, funding_actions):
    request = create(account, staff.maker)

    request.refresh_from_db()
    assert (request.status, request.amount, request.direction) == (
        "awaiting_approval",
        Decimal("250.00"),
        "deposit",
    )
    assert request.participant == account.participant
    assert len(request.idempotency_key) == 36
    assert [(h.from_status, h.to_status, h.actor_label) for h in request.history.all()] == [
        ("", "draft", "maker"),
        ("draft", "awaiting_approval", "maker"),
    ]
    assert funding_actions() == ["funding.request.created", "funding.request.status_changed"]
    assert AuditEvent.objects.get(action="funding.request.created").payload == {
        "direction": "deposit",
        "amount": "250.00",
        "account": account.pk,
    }


def test_a_draft_waits_until_its_maker_sends_it(staff, account):
    request = create(account, staff.maker, for_approval=False)
    assert request.status == "draft"

    with pytest.raises(FundingError, match="Only the person who requested it"):
        funding_request_send_for_approval(request=request, actor=staff.checker)
    funding_request_send_for_approval(request=request, actor=staff.maker)

    assert FundingRequest.objects.get(pk=request.pk).status == "awaiting_approval"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Enter an amount in dollars, e.g. 250.00."),
        ("ten", "Enter an amount in dollars, e.g. 250.00."),
        ("NaN", "Enter an amount in dollars, e.g. 250.00."),
        ("Infinity", "Enter an amount in dollars, e.g. 250.00."),
        ("0", "The amount must be more than zero."),
        ("-5.00", "The amount must be more than zero."),
        ("10.005", "An amount has at most two decimal places (cents)."),
        ("1000000000.01", "The amount must be at most $1,000,000,000.00."),
    ],
)
def test_bad_amounts_are_refused_naming_the_field(staff, account, value, message):
    with pytest.raises(FundingError) as refused:
        create(account, staff.maker, amount=value)

    assert (refused.value.field, refused.value.message) == ("amount", message)
    assert not FundingRequest.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="funding.").exists()


@pytest.mark.parametrize(("value", "expected"), [("$1,250.5", "1250.50"), (" 7 ", "7.00")])
def test_amounts_as_people_type_them(value, expected):
    assert clean_amount(value) == Decimal(expected)


def test_a_reference_is_one_request(staff, account):
    create(account, staff.maker)

    with pytest.raises(FundingError) as refused:
        create(account, staff.maker, amount="10.00")

    assert refused.value.field == "external_reference"
    assert FundingRequest.objects.count() == 1


def test_a_reference_is_required(staff, account):
    with pytest.raises(FundingError) as refused:
        create(account, staff.maker, external_reference="   ")

    assert (refused.value.field, refused.value.message) == (
        "external_reference",
        "Give the reference.",
    )


def test_no_money_moves_for_a_participant_the_exchange_has_not_provisioned(staff, db):
    onboarding = AccountFactory.create(participant__status="onboarding")

    with pytest.raises(FundingError) as refused:
        create(onboarding, staff.maker)

    assert refused.value.field == "account"
    assert "is not active at the exchange (Onboarding)" in refused.value.message
    assert not FundingRequest.objects.exists()


def test_only_treasury_makes_requests(account, db):
    support = UserFactory.create(username="helpdesk", roles=["support"])

    with pytest.raises(FundingError, match=r"You may not request deposits or withdrawals\."):
        create(account, support)

    assert not FundingRequest.objects.exists()


def test_an_edit_drops_the_approvals_and_is_on_the_timeline(staff, account, funding_actions):
    request = FundingRequestFactory.create(
        account=account, status="awaiting_approval", requested_by=staff.maker
    )
    FundingRequest.objects.filter(pk=request.pk).update(
        approved_by=staff.checker, supervisor_required=True
    )

    funding_request_edit(
        request=request,
        amount="120.00",
        external_reference=request.external_reference,
        memo="corrected",
        actor=staff.maker,
        version=1,
    )

    request.refresh_from_db()
    assert (request.amount, request.version, request.approved_by, request.supervisor_required) == (
        Decimal("120.00"),
        2,
        None,
        False,
    )
    entry = request.history.get()
    assert (entry.from_status, entry.to_status) == ("awaiting_approval", "awaiting_approval")
    assert entry.detail == (
        "Edited: amount $100.00 → $120.00; memo changed; the approval by checker was dropped"
    )
    assert funding_actions() == ["funding.request.edited"]
    assert AuditEvent.objects.get(action="funding.request.edited").payload == {
        "fields": ["amount", "memo"],
        "version": 2,
        "approvals_dropped": True,
    }


@pytest.mark.parametrize(
    ("who", "status", "version", "message"),
    [
        ("checker", "awaiting_approval", 1, "Only the person who requested it can edit it."),
        (
            "maker",
            "approved",
            1,
            "It is now “Approved, waiting to be sent”, so it can no longer be edited.",
        ),
        ("maker", "awaiting_approval", 3, "The request was edited after you opened it"),
    ],
)
def test_edits_that_are_refused_change_nothing(staff, account, who, status, version, message):
    request = FundingRequestFactory.create(account=account, status=status, requested_by=staff.maker)

    with pytest.raises(FundingError, match=message):
        funding_request_edit(
            request=request,
            amount="1.00",
            external_reference="other",
            memo="",
            actor=getattr(staff, who),
            version=version,
        )

    request.refresh_from_db()
    assert (request.amount, request.version) == (Decimal("100.00"), 1)
    assert not FundingStatusChange.objects.exists()


def test_a_request_once_handed_to_the_exchange_keeps_its_figures(staff, account):
    request = FundingRequestFactory.create(
        account=account, status="awaiting_approval", requested_by=staff.maker, send_attempts=1
    )

    with pytest.raises(FundingError, match="handed to the exchange before"):
        funding_request_edit(
            request=request,
            amount="1.00",
            external_reference="x",
            memo="",
            actor=staff.maker,
            version=1,
        )


def test_a_checker_declines_with_a_reason(staff, account, funding_actions):
    request = FundingRequestFactory.create(
        account=account, status="awaiting_approval", requested_by=staff.maker
    )

    with pytest.raises(FundingError) as short:
        funding_request_decline(request=request, actor=staff.checker, reason="no")
    assert short.value.field == "reason"
    with pytest.raises(FundingError, match="cancel it instead"):
        funding_request_decline(request=request, actor=staff.maker, reason="I changed my mind")
    assert FundingRequest.objects.get(pk=request.pk).status == "awaiting_approval"

    funding_request_decline(
        request=request, actor=staff.checker, reason="Wallet shows no such instruction"
    )

    request.refresh_from_db()
    assert (request.status, request.staff_reason) == (
        "declined",
        "Wallet shows no such instruction",
    )
    assert funding_actions() == ["funding.request.status_changed", "funding.request.declined"]


@pytest.mark.parametrize("status", ["draft", "awaiting_approval", "approved", "refused"])
def test_cancelled_before_anything_is_at_the_exchange(staff, account, status):
    request = FundingRequestFactory.create(account=account, status=status, requested_by=staff.maker)

    funding_request_cancel(
        request=request, actor=staff.checker, reason="Entered for the wrong person"
    )

    request.refresh_from_db()
    assert (request.status, request.staff_reason) == ("cancelled", "Entered for the wrong person")


@pytest.mark.parametrize(
    "status", ["submitting", "pending", "ambiguous", "outcome_unknown", "confirmed"]
)
def test_never_cancelled_once_it_may_be_at_the_exchange(staff, account, status):
    request = FundingRequestFactory.create(account=account, status=status, requested_by=staff.maker)

    with pytest.raises(FundingError, match="cannot become “Cancelled”"):
        funding_request_cancel(
            request=request, actor=staff.maker, reason="Entered for the wrong person"
        )

    assert FundingRequest.objects.get(pk=request.pk).status == status


def test_a_refusal_that_says_another_movement_holds_the_key_cannot_be_cancelled(staff, account):
    request = FundingRequestFactory.create(
        account=account, status="refused", requested_by=staff.maker, exchange_error="already_exists"
    )

    with pytest.raises(FundingError, match="reconcile it with the exchange first"):
        funding_request_cancel(
            request=request, actor=staff.maker, reason="Entered for the wrong person"
        )

    assert FundingRequest.objects.get(pk=request.pk).status == "refused"
