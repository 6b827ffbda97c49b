"""Four eyes: whoever requests never approves (service and database, superusers included); above
the threshold a supervisor approves as well; a withdrawal above the free cash is refused with the
figures. A refusal changes nothing and calls nothing that moves money."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from backoffice.audit.models import AuditEvent
from backoffice.gateway import errors
from funding.errors import FundingError
from funding.models import FundingRequest, FundingStatusChange
from funding.services import funding_request_approve
from tests.factories import FundingRequestFactory, UserFactory
from tests.funding.conftest import balance, movement


@pytest.fixture
def awaiting(staff, account):
    def make(**values):
        values.setdefault("status", "awaiting_approval")
        values.setdefault("requested_by", staff.maker)
        return FundingRequestFactory.create(account=account, **values)

    return make


def test_a_checker_approves_and_the_deposit_is_sent_once_and_confirmed(
    staff, awaiting, exchange, funding_actions
):
    request = awaiting()
    exchange.creates.append(movement(key=request.idempotency_key))

    funding_request_approve(request=request, actor=staff.checker, version=1)

    request.refresh_from_db()
    assert request.status == "confirmed"
    assert (request.approved_by, request.workflow_id, request.dco_transfer_id) == (
        staff.checker,
        "wf-1",
        "dco_1",
    )
    assert [(h.from_status, h.to_status, h.source) for h in request.history.all()] == [
        ("awaiting_approval", "approved", "staff"),
        ("approved", "submitting", "staff"),
        ("submitting", "confirmed", "exchange"),
    ]
    assert exchange.names() == ["create_cash_movement"]
    sent = exchange.calls[0][1]
    assert sent["idempotency_key"] == request.idempotency_key
    assert (sent["reason"], sent["amount"], sent["participant_account_id"]) == (
        "DEPOSIT",
        Decimal("100.00"),
        request.account.account_id,
    )
    assert funding_actions() == [
        "funding.request.status_changed",
        "funding.request.approved",
        "funding.request.status_changed",
        "funding.request.status_changed",
        "funding.request.answered",
    ]


@pytest.mark.parametrize("superuser", [False, True])
def test_the_requester_cannot_approve(staff, awaiting, exchange, superuser):
    maker = UserFactory.create(username="root", roles=["treasury"], is_superuser=superuser)
    request = awaiting(requested_by=maker)

    with pytest.raises(FundingError) as refused:
        funding_request_approve(request=request, actor=maker, version=1)

    assert (
        refused.value.message == "You requested this movement, so another person must approve it."
    )
    request.refresh_from_db()
    assert (request.status, request.approved_by) == ("awaiting_approval", None)
    assert not FundingStatusChange.objects.exists()
    assert exchange.calls == []


def test_and_the_database_refuses_it_whatever_writes_the_row(staff, awaiting):
    request = awaiting()

    with (
        pytest.raises(IntegrityError, match="funding_approver_not_requester"),
        transaction.atomic(),
    ):
        FundingRequest.objects.filter(pk=request.pk).update(
            approved_by=staff.maker, status="approved"
        )

    assert FundingRequest.objects.get(pk=request.pk).status == "awaiting_approval"


def test_someone_without_the_checker_role_cannot_approve(awaiting, exchange, db):
    support = UserFactory.create(username="helpdesk", roles=["support"])
    request = awaiting()

    with pytest.raises(FundingError, match=r"You may not approve funding requests\."):
        funding_request_approve(request=request, actor=support, version=1)

    assert FundingRequest.objects.get(pk=request.pk).status == "awaiting_approval"


def test_above_the_threshold_a_supervisor_approves_as_a_third_person(
    staff, awaiting, exchange, settings
):
    settings.FUNDING_SUPERVISOR_THRESHOLD = Decimal("5000.00")
    request = awaiting(amount=Decimal("5000.01"))
    exchange.creates.append(movement(key=request.idempotency_key, amount="5000.01"))

    funding_request_approve(request=request, actor=staff.checker, version=1)

    request.refresh_from_db()
    assert (request.status, request.approved_by, request.supervisor_required) == (
        "awaiting_approval",
        staff.checker,
        True,
    )
    assert request.history.get().detail == (
        "First approval; above $5,000.00, a supervisor must approve too"
    )
    assert exchange.calls == []
    with pytest.raises(FundingError, match="You approved this request already"):
        funding_request_approve(request=request, actor=staff.checker, version=1)
    with pytest.raises(
        FundingError,
        match=r"give the second approval \(requests above \$5,000.00 need a supervisor\)",
    ):
        funding_request_approve(request=request, actor=staff.other_checker, version=1)
    assert exchange.calls == []

    funding_request_approve(request=request, actor=staff.supervisor, version=1)

    request.refresh_from_db()
    assert (request.status, request.second_approved_by) == ("confirmed", staff.supervisor)
    assert len(exchange.calls) == 1


def test_at_the_threshold_one_checker_is_enough(staff, awaiting, exchange, settings):
    settings.FUNDING_SUPERVISOR_THRESHOLD = Decimal("5000.00")
    request = awaiting(amount=Decimal("5000.00"))
    exchange.creates.append(movement(key=request.idempotency_key, amount="5000.00"))

    funding_request_approve(request=request, actor=staff.checker, version=1)

    assert FundingRequest.objects.get(pk=request.pk).status == "confirmed"


def test_a_supervisor_who_requested_it_cannot_give_the_second_approval(
    staff, awaiting, exchange, settings
):
    settings.FUNDING_SUPERVISOR_THRESHOLD = Decimal("10.00")
    boss_maker = UserFactory.create(username="boss2", roles=["treasury", "supervisor"])
    request = awaiting(requested_by=boss_maker)
    funding_request_approve(request=request, actor=staff.checker, version=1)

    with pytest.raises(FundingError, match="You requested this movement"):
        funding_request_approve(request=request, actor=boss_maker, version=1)

    assert FundingRequest.objects.get(pk=request.pk).status == "awaiting_approval"


def test_an_approval_names_the_version_it_approved(staff, awaiting, exchange):
    request = awaiting()
    FundingRequest.objects.filter(pk=request.pk).update(version=2, amount=Decimal("900.00"))

    with pytest.raises(FundingError, match="edited after you opened it"):
        funding_request_approve(request=request, actor=staff.checker, version=1)

    assert FundingRequest.objects.get(pk=request.pk).status == "awaiting_approval"
    assert exchange.calls == []


def test_a_second_click_is_told_it_is_approved_already(staff, awaiting, exchange):
    request = awaiting()
    exchange.creates.append(movement(key=request.idempotency_key))
    funding_request_approve(request=request, actor=staff.checker, version=1)

    with pytest.raises(FundingError) as again:
        funding_request_approve(request=request, actor=staff.checker, version=1)

    assert again.value.message == "You approved this request already; it is now “Confirmed”."
    assert len(exchange.calls) == 1


def test_a_withdrawal_above_the_free_cash_is_refused_with_the_figures(staff, awaiting, exchange):
    request = awaiting(direction="withdrawal", amount=Decimal("50.00"))
    exchange.balances.append(balance("100.00", open_orders="60.00"))

    with pytest.raises(FundingError) as refused:
        funding_request_approve(request=request, actor=staff.checker, version=1)

    assert refused.value.message == (
        "Not approved: the withdrawal of $50.00 is more than the participant's free cash $40.00 "
        "(balance $100.00, open orders $60.00, buying power $40.00)."
    )
    request.refresh_from_db()
    assert (request.status, request.approved_by) == ("awaiting_approval", None)
    assert exchange.names() == ["balance"]
    assert exchange.calls[0][1]["participant_id"] == request.participant.participant_id
    assert AuditEvent.objects.get(action="funding.request.approval_refused").payload == {
        "amount": "50.00",
        "free_cash": "40.00",
        "balance": "100.00",
        "open_orders": "60.00",
        "buying_power": "40.00",
    }


def test_buying_power_below_cash_less_open_orders_is_what_counts(staff, awaiting, exchange):
    request = awaiting(direction="withdrawal", amount=Decimal("50.00"))
    exchange.balances.append(balance("100.00", open_orders="10.00", buying_power="45.00"))

    with pytest.raises(FundingError, match=r"free cash \$45.00"):
        funding_request_approve(request=request, actor=staff.checker, version=1)


def test_a_withdrawal_within_the_free_cash_is_checked_again_just_before_it_is_sent(
    staff, awaiting, exchange
):
    request = awaiting(direction="withdrawal", amount=Decimal("40.00"))
    exchange.balances += [
        balance("100.00", open_orders="60.00"),
        balance("100.00", open_orders="60.00"),
    ]
    exchange.creates.append(
        movement(key=request.idempotency_key, amount="40.00", reason="WITHDRAWAL")
    )

    funding_request_approve(request=request, actor=staff.checker, version=1)

    assert FundingRequest.objects.get(pk=request.pk).status == "confirmed"
    assert exchange.names() == ["balance", "balance", "create_cash_movement"]


def test_free_cash_gone_by_the_time_it_is_sent_sends_it_back_for_approval(
    staff, awaiting, exchange
):
    request = awaiting(direction="withdrawal", amount=Decimal("40.00"))
    exchange.balances += [balance("100.00"), balance("100.00", open_orders="70.00")]

    funding_request_approve(request=request, actor=staff.checker, version=1)

    request.refresh_from_db()
    assert (request.status, request.approved_by) == ("awaiting_approval", None)
    assert request.last_error == (
        "Not sent: the withdrawal of $40.00 is more than the participant's free cash $30.00 "
        "(balance $100.00, open orders $70.00, buying power $30.00) just before sending. It needs "
        "approving again."
    )
    assert exchange.names() == ["balance", "balance"]
    assert request.send_attempts == 0


def test_free_cash_that_cannot_be_read_means_no_approval(staff, awaiting, exchange):
    request = awaiting(direction="withdrawal")
    exchange.balances.append(errors.Unavailable("down", http_status=503))

    with pytest.raises(FundingError) as refused:
        funding_request_approve(request=request, actor=staff.checker, version=1)

    assert refused.value.message == (
        "Not approved: the participant's free cash could not be read (the exchange could not be "
        "reached or was busy (unavailable)). Try again in a moment."
    )
    assert FundingRequest.objects.get(pk=request.pk).status == "awaiting_approval"
