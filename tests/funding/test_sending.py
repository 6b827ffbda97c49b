"""What each answer to a create call makes of a request, recorded in one transaction: state,
timeline, exchange ids, error text and audit event, and never a movement sent under a new key."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backoffice.audit.models import AuditEvent
from backoffice.gateway import errors
from funding.models import FundingRequest, PoolTotals
from funding.services import funding_request_submit
from funding.states import FundingTransitionRefused
from tests.factories import FundingRequestFactory
from tests.funding.conftest import balance, movement


@pytest.fixture
def approved(staff, account):
    def make(**values):
        values.setdefault("status", "approved")
        values.setdefault("requested_by", staff.maker)
        return FundingRequestFactory.create(account=account, **values)

    return make


def test_confirmed(approved, exchange):
    request = approved()
    exchange.creates.append(movement(key=request.idempotency_key))

    funding_request_submit(request=request, actor=None)

    request.refresh_from_db()
    assert (request.status, request.workflow_id, request.dco_transfer_id, request.last_error) == (
        "confirmed",
        "wf-1",
        "dco_1",
        "",
    )
    assert (request.send_attempts, request.send_deadline) == (1, None)
    assert request.settled_at is not None
    assert request.history.last().detail == "Confirmed by the exchange (transfer dco_1)"
    assert [h.source for h in request.history.all()] == ["resume", "exchange"]
    totals = PoolTotals.objects.get(currency="USD")
    assert (totals.deposits, totals.withdrawals) == (Decimal("100.00"), Decimal("0.00"))


def test_rejected_shows_the_exchanges_reason(approved, exchange):
    request = approved(direction="withdrawal")
    exchange.balances.append(balance("500.00"))
    exchange.creates.append(
        movement("REJECTED", reason="WITHDRAWAL", rejection_reason="INSUFFICIENT_FUNDS")
    )

    funding_request_submit(request=request, actor=None)

    request.refresh_from_db()
    assert (request.status, request.rejection_reason) == ("rejected", "INSUFFICIENT_FUNDS")
    assert request.history.last().detail == (
        "Rejected by the exchange: INSUFFICIENT_FUNDS. No money moved."
    )
    assert not PoolTotals.objects.exists()


@pytest.mark.parametrize(
    ("status", "detail"),
    [
        ("PENDING", "The exchange holds it as pending; funding_resume asks until it is final"),
        (
            "AMBIGUOUS",
            (
                "The exchange reports its outcome as ambiguous; funding_resume replays it under the "
                "same key until it is final"
            ),
        ),
    ],
)
def test_the_exchanges_own_non_final_outcomes(approved, exchange, status, detail):
    request = approved()
    exchange.creates.append(movement(status))

    funding_request_submit(request=request, actor=None)

    request.refresh_from_db()
    assert (request.status, request.exchange_status, request.workflow_id) == (
        status.lower(),
        f"CASH_MOVEMENT_STATUS_{status}",
        "wf-1",
    )
    assert request.history.last().detail == detail
    assert request.settled_at is None


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (
            movement("UNSPECIFIED"),
            "it answered with status CASH_MOVEMENT_STATUS_UNSPECIFIED, which is not one we know",
        ),
        (movement(amount="99.00"), "its amount is $99.00"),
        (movement(key="someone-elses-key"), "it carries another idempotency key"),
        (movement(reason="WITHDRAWAL"), "its reason is TRANSFER_REASON_WITHDRAWAL"),
    ],
)
def test_an_answer_that_is_not_about_this_request_is_not_believed(
    approved, exchange, answer, problem
):
    request = approved()
    exchange.creates.append(answer)

    funding_request_submit(request=request, actor=None)

    request.refresh_from_db()
    assert (request.status, request.workflow_id) == ("outcome_unknown", "")
    assert request.last_error == (
        f"Sent; the exchange's answer could not be matched to this request ({problem}); it is "
        "being checked."
    )


TIMEOUT_BEFORE = errors.Timeout("ConnectTimeout", reached=False)
TIMEOUT_AFTER = errors.Timeout("ReadTimeout", reached=True)


def _settled(error: errors.GatewayError, outcome: errors.Outcome) -> errors.GatewayError:
    error.outcome = outcome
    return error


# (failure, where it leaves a first send, the words staff read)
FAILURES = {
    "not sent": (
        _settled(errors.Unavailable("down", http_status=503), errors.Outcome.NOT_SENT),
        "approved",
        (
            "Not sent: the exchange could not be reached or was busy (unavailable). It stays approved "
            "and is sent by the next run of funding_resume."
        ),
    ),
    "misconfigured": (
        errors.Unauthenticated("token refused", http_status=401),
        "approved",
        (
            "Not sent: the connection to the exchange is misconfigured (unauthenticated: token "
            "refused); a person must fix the settings. It stays approved and is sent once that is "
            "fixed."
        ),
    ),
    "unknown": (
        _settled(TIMEOUT_AFTER, errors.Outcome.UNKNOWN),
        "outcome_unknown",
        (
            "Sent; the exchange's answer is not known yet and is being checked (the exchange gave no "
            "usable answer (timeout))."
        ),
    ),
    "refused": (
        errors.NotFound("no customer relationship", http_status=404),
        "refused",
        (
            "Refused: the exchange refused it (not_found): no customer relationship. No movement was "
            "created; send it again once the cause is fixed, or cancel it."
        ),
    ),
}


@pytest.mark.parametrize("case", FAILURES)
def test_each_failure_of_a_first_send(approved, exchange, case):
    failure, status, message = FAILURES[case]
    request = approved()
    exchange.creates.append(failure)

    funding_request_submit(request=request, actor=None)

    request.refresh_from_db()
    assert (request.status, request.last_error) == (status, message)
    assert request.history.last().detail == message
    event = AuditEvent.objects.get(action="funding.request.send_failed")
    assert event.payload == {"outcome": str(failure.outcome), "error": failure.code}
    assert request.send_attempts == 1


@pytest.mark.parametrize(
    ("started", "case", "status"),
    [
        ("outcome_unknown", "not sent", "outcome_unknown"),
        ("outcome_unknown", "unknown", "outcome_unknown"),
        ("outcome_unknown", "refused", "refused"),
        ("ambiguous", "not sent", "ambiguous"),
        ("ambiguous", "unknown", "ambiguous"),
        ("ambiguous", "refused", "ambiguous"),
    ],
)
def test_a_failed_replay_never_forgets_that_a_movement_may_exist(
    approved, exchange, started, case, status
):
    request = approved(status=started)
    exchange.creates.append(FAILURES[case][0])

    funding_request_submit(request=request, actor=None)

    request.refresh_from_db()
    assert request.status == status
    assert request.history.first().detail == "Replayed under the same key"


def test_a_replay_sends_the_same_key_and_fields(approved, exchange):
    request = approved(status="outcome_unknown", memo="from the wallet")
    exchange.creates.append(movement(key=request.idempotency_key))

    funding_request_submit(request=request, actor=None)

    assert exchange.calls[0][1] == {
        "idempotency_key": request.idempotency_key,
        "reason": "DEPOSIT",
        "participant_account_id": request.account.account_id,
        "amount": Decimal("100.00"),
        "external_reference": request.external_reference,
        "memo": "from the wallet",
        "currency": "USD",
        "actor": None,
    }
    assert FundingRequest.objects.get(pk=request.pk).status == "confirmed"


@pytest.mark.parametrize(
    "status", ["draft", "awaiting_approval", "submitting", "pending", "confirmed", "cancelled"]
)
def test_only_what_is_approved_or_unsettled_is_sent(approved, exchange, status):
    request = approved(status=status)

    with pytest.raises(FundingTransitionRefused):
        funding_request_submit(request=request, actor=None)

    assert exchange.calls == []
    assert FundingRequest.objects.get(pk=request.pk).status == status


def test_a_late_answer_after_another_path_settled_it_is_not_recorded(approved, exchange):
    request = approved()

    def settled_meanwhile(**kwargs):
        FundingRequest.objects.filter(pk=request.pk).update(status="outcome_unknown")
        return movement(key=request.idempotency_key)

    exchange.create_cash_movement = settled_meanwhile

    funding_request_submit(request=request, actor=None)

    request.refresh_from_db()
    assert (request.status, request.workflow_id) == ("outcome_unknown", "")
