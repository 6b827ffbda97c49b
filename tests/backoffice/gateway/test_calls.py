"""Failure behaviour: typed errors, retries only where safe, Retry-After, participant headers,
the refusal to call inside a transaction."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from backoffice.gateway import errors
from backoffice.gateway.errors import error_for
from backoffice.gateway.models import GatewayCall
from backoffice.gateway.transport import Response
from tests.backoffice.gateway.fakes import Reply

WHOAMI = {"user": "firms/ISV-Participant-Acme/users/admin", "firm": "ISV-Participant-Acme"}
PID = "firms/ISV-Participant-Acme/users/user-123"
ACCOUNT = "firms/ISV-Acme/accounts/8f3a2c"
CASH_PATH = "/polymarket.us.cashmovement.v1.CashMovementService/CreateCashMovement"
MOVEMENT = {
    "cashMovement": {
        "workflowId": "wf-1",
        "idempotencyKey": "dep-1",
        "intentType": "transfer",
        "status": "CASH_MOVEMENT_STATUS_CONFIRMED",
        "amount": "500.00",
        "currency": "USD",
        "reason": "TRANSFER_REASON_DEPOSIT",
        "dcoTransferId": "dco-9",
    }
}


@pytest.mark.parametrize(
    ("status", "body", "expected", "retryable"),
    [
        (400, {"code": 3, "message": "bad"}, errors.InvalidArgument, False),
        (400, {"code": 9, "message": "not ready"}, errors.FailedPrecondition, False),
        (403, {"code": 7, "message": "missing scope"}, errors.PermissionDenied, False),
        (404, {"code": 5}, errors.NotFound, False),
        (409, {"code": 6}, errors.AlreadyExists, False),
        (409, {"code": 10}, errors.Aborted, False),
        (429, {"code": 8, "message": "rate limit exceeded"}, errors.RateLimited, True),
        (500, {"code": 13}, errors.InternalError, True),
        (502, b"<html>bad gateway</html>", errors.Unavailable, True),
        (503, {"code": 14}, errors.Unavailable, True),
        (504, {"code": 4}, errors.DeadlineExceeded, True),
        (401, {"code": 16}, errors.Unauthenticated, False),
        (422, {}, errors.FailedPrecondition, False),
        (400, {"code": "invalid_argument", "message": "amount"}, errors.InvalidArgument, False),
        (409, {"code": "already_exists"}, errors.AlreadyExists, False),
        (400, {"code": "failed_precondition"}, errors.FailedPrecondition, False),
        (429, {"code": "resource_exhausted"}, errors.RateLimited, True),
        (503, {"code": "unavailable"}, errors.Unavailable, True),
        (302, b"", errors.UnexpectedRedirect, False),
    ],
)
def test_answers_become_typed_errors(status, body, expected, retryable):
    raw = body if isinstance(body, bytes) else Reply(body=body).response().body
    error = error_for(Response(status, {}, raw), "whoami")

    assert type(error) is expected
    assert error.retryable is retryable
    assert error.http_status == status


def test_a_read_is_retried_with_jittered_backoff_until_it_succeeds(gateway, fake, sleeps, recorder):
    fake.on(
        "GET", "/v1/whoami", Reply(503, {"code": 14}), Reply(500, {"code": 13}), Reply(body=WHOAMI)
    )

    who = gateway.whoami(actor=None)

    assert who.firm == "ISV-Participant-Acme"
    assert len(fake.api_requests()) == 3
    assert len(sleeps) == 2
    assert 0.8 <= sleeps[0] <= 1.2
    assert 1.6 <= sleeps[1] <= 2.4
    calls = [
        (a.attempt, a.http_status, a.outcome) for a in recorder.attempts if a.operation == "whoami"
    ]
    assert calls == [(1, 503, "Unavailable"), (2, 500, "InternalError"), (3, 200, "ok")]


def test_a_read_gives_up_after_five_attempts_with_the_last_error(gateway, fake, sleeps):
    fake.on("GET", "/v1/whoami", Reply(504, {"code": 4}))

    with pytest.raises(errors.DeadlineExceeded) as caught:
        gateway.whoami(actor=None)

    assert caught.value.retryable is True
    assert len(fake.api_requests()) == 5
    assert len(sleeps) == 4
    for wait, nominal in zip(sleeps, (1, 2, 4, 8), strict=True):
        assert nominal * 0.8 <= wait <= nominal * 1.2


def test_retry_after_is_honoured(gateway, fake, sleeps):
    fake.on(
        "GET",
        "/v1/whoami",
        Reply(429, {"code": 8, "message": "rate limit exceeded"}, {"Retry-After": "7"}),
        Reply(body=WHOAMI),
    )

    gateway.whoami(actor=None)

    assert sleeps == [7.0]


def test_a_retry_after_beyond_the_wait_budget_is_raised_at_once(gateway, fake, sleeps):
    fake.on("GET", "/v1/whoami", Reply(429, {"code": 8}, {"Retry-After": "120"}))

    with pytest.raises(errors.RateLimited) as caught:
        gateway.whoami(actor=None)

    assert caught.value.retry_after == 120.0
    assert len(fake.api_requests()) == 1
    assert sleeps == []


@pytest.mark.parametrize(
    "failure",
    [Reply(error=errors.Timeout("ReadTimeout", reached=True)), Reply(error=errors.ConnectionFailed("reset", reached=True)),
     Reply(200, b'{"validated": tru'), Reply(503, {"code": 14})],
)  # fmt: skip
def test_writes_without_an_idempotency_key_are_never_retried(gateway, fake, sleeps, failure):
    fake.on("POST", "/v1/trading/orders/cancel", failure)

    with pytest.raises(errors.TransientError):
        gateway.cancel_order(participant_id=PID, order_id="BT3DNMHB94XJ", actor=None)

    assert len(fake.api_requests()) == 1
    assert sleeps == []


def test_a_keyed_write_is_retried_reusing_its_key(gateway, fake, sleeps):
    fake.on(
        "POST",
        CASH_PATH,
        Reply(error=errors.Timeout("ReadTimeout", reached=True)),
        Reply(error=errors.ConnectionFailed("ConnectionResetError", reached=True)),
        Reply(503, {"code": "unavailable"}),
        Reply(body=MOVEMENT),
    )

    movement = gateway.create_cash_movement(
        idempotency_key="dep-1",
        reason="DEPOSIT",
        participant_account_id=ACCOUNT,
        amount=Decimal("500.00"),
        external_reference="journal-77",
        actor=None,
    )

    assert movement.status == "CASH_MOVEMENT_STATUS_CONFIRMED"
    bodies = [r.json for r in fake.api_requests()]
    assert len(bodies) == 4
    assert all(body == bodies[0] for body in bodies)
    assert bodies[0] == {
        "idempotencyKey": "dep-1",
        "transfer": {
            "reason": "TRANSFER_REASON_DEPOSIT",
            "participantAccountId": ACCOUNT,
            "amount": "500.00",
            "currency": "USD",
            "externalReference": "journal-77",
        },
    }
    assert len(sleeps) == 3


def test_a_permanent_error_is_not_retried(gateway, fake, sleeps):
    fake.on("POST", CASH_PATH, Reply(409, {"code": "already_exists", "message": "key reused"}))

    with pytest.raises(errors.AlreadyExists) as caught:
        gateway.create_cash_movement(
            idempotency_key="dep-1",
            reason="DEPOSIT",
            participant_account_id=ACCOUNT,
            amount=Decimal("1"),
            external_reference="j",
            actor=None,
        )

    assert caught.value.retryable is False
    assert len(fake.api_requests()) == 1
    assert sleeps == []


def test_a_malformed_answer_to_a_read_is_retried(gateway, fake):
    fake.on(
        "GET", "/v1/whoami", Reply(200, b"{not json"), Reply(200, b"[1, 2]"), Reply(body=WHOAMI)
    )

    assert gateway.whoami(actor=None).firm == "ISV-Participant-Acme"
    assert len(fake.api_requests()) == 3


def test_the_participant_header_goes_only_where_required(gateway, fake):
    fake.on("GET", "/v1/whoami", Reply(body=WHOAMI))
    fake.on("POST", "/v1/positions/balance", Reply(body={"balance": "1.00"}))
    fake.on("POST", CASH_PATH, Reply(body=MOVEMENT))
    fake.on("GET", "/v1/kyc/status", Reply(body={"status": {"decision": "REVIEW"}}))

    gateway.whoami(actor=None)
    gateway.balance(participant_id=PID, account=ACCOUNT, actor=None)
    gateway.create_cash_movement(
        idempotency_key="k", reason="DEPOSIT", participant_account_id=ACCOUNT,
        amount=Decimal("1"), external_reference="j", actor=None,
    )  # fmt: skip
    gateway.kyc_status(external_id="ext-1", actor=None)

    headers = [r.headers for r in fake.api_requests()]
    assert [h.get("x-participant-id") for h in headers] == [None, PID, None, None]
    assert headers[2]["Connect-Protocol-Version"] == "1"


def test_a_participant_scoped_call_without_the_participant_is_refused(gateway, fake):
    with pytest.raises(ValueError, match="needs the participant_id"):
        gateway.balance(participant_id="", account=ACCOUNT, actor=None)

    assert fake.requests == []


def test_every_call_carries_the_configured_timeout(gateway, fake):
    fake.on("GET", "/v1/whoami", Reply(body=WHOAMI))

    gateway.whoami(actor=None)

    assert {r.timeout for r in fake.requests} == {(3.05, 35.0)}


def test_no_call_is_made_inside_a_transaction(db, gateway, fake):
    fake.on("GET", "/v1/whoami", Reply(body=WHOAMI))

    with transaction.atomic(), pytest.raises(errors.GatewayCalledInTransaction):
        gateway.whoami(actor=None)

    assert fake.requests == []
    assert GatewayCall.objects.count() == 0


def test_a_call_after_the_commit_goes_through(
    db, gateway, fake, django_capture_on_commit_callbacks
):
    fake.on("GET", "/v1/whoami", Reply(body=WHOAMI))
    answers = []

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        transaction.on_commit(lambda: answers.append(gateway.whoami(actor=None).firm))

    assert answers == ["ISV-Participant-Acme"]


def test_a_pagination_loop_is_refused(gateway, fake):
    fake.on(
        "POST", "/v1/refdata/instruments", Reply(body={"instruments": [], "nextPageToken": "same"})
    )

    with pytest.raises(errors.MalformedResponse):
        list(gateway.instruments(actor=None).items())

    assert len(fake.api_requests()) == 2
