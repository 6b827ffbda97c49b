"""Every attempt is recorded, with who it was for and what it returned, and nothing secret."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core import serializers
from django.db import DatabaseError

from backoffice import context
from backoffice.gateway.errors import Unavailable
from backoffice.gateway.inputs import KycAddress, KycApplication
from backoffice.gateway.models import GatewayCall
from backoffice.gateway.recording import DatabaseRecorder, HeldRecorder
from tests.backoffice.gateway.fakes import Reply

SSN = "123456789"


def application() -> KycApplication:
    return KycApplication(
        external_id="cust-42",
        first_name="Jane",
        last_name="Doe",
        date_of_birth=dt.date(1985, 10, 2),
        ssn=SSN,
        email="jane@example.com",
        phone_number="+12125551234",
        address=KycAddress("1 Main St", "Springfield", "IL", "62701"),
        ip_address="203.0.113.9",
        agreement_version="PMX.ISV.SANDBOX.v1.0",
        agreement_signed_at=dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC),
    )


def test_attempts_record_the_staff_member_and_the_exchange_ids(db, make_gateway, fake, make_user):
    support = make_user("sam", "support")
    gateway = make_gateway(recorder_=DatabaseRecorder())
    fake.on(
        "GET",
        "/v1/kyc/status",
        Reply(503, {"code": 14}),
        Reply(body={
            "status": {"decision": "ACCEPT", "status": "CLOSED", "externalId": "cust-42"},
            "participantId": "firms/ISV-Participant-Acme/users/cust-42",
            "provisionedAccount": "firms/ISV-Acme/accounts/8f3a",
        }),
    )  # fmt: skip

    with context.bound(context.RequestContext(request_id="req-abc-123", client_ip="10.1.1.1")):
        gateway.kyc_status(external_id="cust-42", actor=support)

    rows = list(GatewayCall.objects.order_by("id"))
    assert [(r.operation, r.attempt, r.http_status, r.outcome, r.error_code) for r in rows] == [
        ("token", 1, 200, "ok", ""),
        ("kyc_status", 1, 503, "Unavailable", "unavailable"),
        ("kyc_status", 2, 200, "ok", ""),
    ]
    last = rows[-1]
    assert last.method == "GET"
    assert last.endpoint == "/v1/kyc/status"
    assert last.environment == "sandbox"
    assert last.actor == support
    assert last.origin == ""
    assert last.request_id == "req-abc-123"
    assert last.exchange_ids == {
        "participant_id": "firms/ISV-Participant-Acme/users/cust-42",
        "provisioned_account": "firms/ISV-Acme/accounts/8f3a",
    }
    assert rows[1].exchange_ids == {}
    assert all(r.latency_ms >= 0 for r in rows)


def test_system_work_records_its_origin(db, make_gateway, fake):
    gateway = make_gateway(recorder_=DatabaseRecorder())
    fake.on("GET", "/v1/whoami", Reply(body={"firm": "ISV-Participant-Acme"}))

    with context.command_context("kyc_sync"):
        gateway.whoami(actor=None)

    assert set(GatewayCall.objects.values_list("actor", "origin")) == {(None, "command:kyc_sync")}


def test_nothing_secret_or_personal_is_recorded(db, make_gateway, fake):
    gateway = make_gateway(recorder_=DatabaseRecorder())
    fake.on(
        "POST", "/v1/kyc/start", Reply(body={"status": {"decision": "ACCEPT", "status": "ON_HOLD"}})
    )

    gateway.kyc_start(application=application(), actor=None)

    stored = serializers.serialize("json", GatewayCall.objects.all())
    sent = fake.api_requests()[0].json
    assert sent["ssn"] == SSN  # it went to the exchange...
    for secret in (SSN, "Jane", "jane@example.com", "+12125551234", "1 Main St", "203.0.113.9",
                   "1985-10-02", fake.issued[0], fake.requests[0].json["client_assertion"]):  # fmt: skip
        assert secret not in stored  # ...and nowhere into the record
    assert sorted(row["fields"]["operation"] for row in json.loads(stored)) == [
        "kyc_start",
        "token",
    ]


def test_the_kyc_application_never_shows_personal_data_in_its_repr():
    text = repr(application())

    assert "cust-42" in text
    for secret in (SSN, "Jane", "Doe", "jane@example.com", "Main St", "203.0.113.9", "1985"):
        assert secret not in text


def test_a_recording_failure_does_not_hide_the_answer(db, make_gateway, fake, monkeypatch, caplog):
    def refuse(**_fields):
        raise DatabaseError("disk full")

    monkeypatch.setattr(GatewayCall.objects, "create", refuse)
    gateway = make_gateway(recorder_=DatabaseRecorder())
    fake.on("GET", "/v1/whoami", Reply(body={"firm": "ISV-Participant-Acme"}))

    who = gateway.whoami(actor=None)

    assert who.firm == "ISV-Participant-Acme"
    assert [r.getMessage() for r in caplog.records] == [
        "could not record gateway call token attempt 1",
        "could not record gateway call whoami attempt 1",
    ]


def test_the_final_error_is_recorded_on_every_attempt(db, make_gateway, fake):
    gateway = make_gateway(recorder_=DatabaseRecorder(), job_max_attempts=3)
    fake.on("GET", "/v1/whoami", Reply(503, {"code": 14}))

    with pytest.raises(Unavailable):
        gateway.whoami(actor=None)

    assert list(
        GatewayCall.objects.filter(operation="whoami")
        .order_by("id")
        .values_list("attempt", "outcome")
    ) == [(1, "Unavailable"), (2, "Unavailable"), (3, "Unavailable")]


def test_a_transfer_records_its_workflow_and_accounts(db, make_gateway, fake):
    gateway = make_gateway(recorder_=DatabaseRecorder())
    fake.on(
        "POST",
        "/polymarket.us.cashmovement.v1.CashMovementService/CreateCashMovement",
        Reply(body={"cashMovement": {
            "workflowId": "wf-7", "status": "CASH_MOVEMENT_STATUS_CONFIRMED", "amount": "5.00",
            "sourceAccountId": "firms/fund/accounts/funding", "destinationAccountId": "firms/ISV-Acme/accounts/1",
        }}),
    )  # fmt: skip

    gateway.create_cash_movement(
        idempotency_key="dep-7", reason="DEPOSIT", participant_account_id="firms/ISV-Acme/accounts/1",
        amount=Decimal("5.00"), external_reference="j-7", actor=None,
    )  # fmt: skip

    row = GatewayCall.objects.get(operation="create_cash_movement")
    assert (row.idempotency_key, row.participant_id) == ("dep-7", "")
    assert row.exchange_ids == {
        "workflow_id": "wf-7",
        "source_account_id": "firms/fund/accounts/funding",
        "destination_account_id": "firms/ISV-Acme/accounts/1",
    }


def test_attempts_held_for_another_thread_are_written_in_one_insert_when_flushed(
    db, make_gateway, fake, django_assert_num_queries
):
    recorder = HeldRecorder(DatabaseRecorder())
    gateway = make_gateway(recorder_=recorder)
    fake.on("GET", "/v1/whoami", Reply(body={"firm": "ISV-Participant-Acme"}))

    with context.command_context("reconcile"):
        gateway.whoami(actor=None)
        gateway.whoami(actor=None)
    assert GatewayCall.objects.count() == 0  # held, not written

    with django_assert_num_queries(1):
        recorder.flush()

    assert list(GatewayCall.objects.order_by("id").values_list("operation", "origin")) == [
        ("token", "command:reconcile"),
        ("whoami", "command:reconcile"),
        ("whoami", "command:reconcile"),
    ]
    with django_assert_num_queries(0):
        recorder.flush()  # nothing is written twice
