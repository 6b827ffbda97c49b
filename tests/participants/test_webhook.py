"""The KYC webhook believes only signed, fresh, first-time deliveries, and answers fast."""

from __future__ import annotations

import json
import logging
import time

import pytest

from participants.models import Account, KycSubmission, WebhookDelivery
from participants.webhook_signatures import sign
from tests.factories import KycSubmissionFactory

URL = "/webhooks/polymarket/kyc/"
SECRET = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ="  # FirmFactory's
S = KycSubmission.Status


def approved(external_id: str = "user-00001") -> dict:
    return {
        "event_type": "kyc.approved",
        "event_id": "01J0ABC",
        "event_time": "2026-11-23T15:32:00Z",
        "data": {
            "external_id": external_id,
            "firm_id": "ISV-Participant-Acme",
            "status": "KYC_STATUS_APPROVED",
            "provisioned_participant": f"firms/ISV-Participant-Acme/users/{external_id}",
            "provisioned_account": "firms/ISV-Acme/accounts/8f3a2c",
            "date_of_birth": "1985-10-02",
            "status_set_at": "2026-11-23T15:32:00.123456789Z",
        },
    }


def deliver(client, event, *, webhook_id="msg_1", secret=SECRET, timestamp=None, body=None):
    body = body if body is not None else json.dumps(event).encode()
    timestamp = str(timestamp if timestamp is not None else int(time.time()))
    signature = sign(secret=secret, webhook_id=webhook_id, timestamp=timestamp, body=body)
    return client.post(
        URL,
        body,
        content_type="application/json",
        HTTP_WEBHOOK_ID=webhook_id,
        HTTP_WEBHOOK_TIMESTAMP=timestamp,
        HTTP_WEBHOOK_SIGNATURE=f"v1,bm90LXRoaXMtb25l {signature}",
    )


@pytest.fixture
def waiting(db, firm):
    return KycSubmissionFactory.create(
        participant__firm=firm,
        participant__external_id="user-00001",
        status=S.AWAITING_PROVISIONING,
    )


def test_kyc_approved_records_the_participant_and_account(client, waiting):
    response = deliver(client, approved())

    assert response.status_code == 200
    waiting.refresh_from_db()
    assert waiting.status == S.APPROVED
    assert waiting.participant.participant_id == "firms/ISV-Participant-Acme/users/user-00001"
    assert list(Account.objects.values_list("account_id", flat=True)) == [
        "firms/ISV-Acme/accounts/8f3a2c"
    ]
    assert list(waiting.history.values_list("actor_label", flat=True))[-1] == "webhook"


def test_kyc_rejected_rejects(client, firm):
    submission = KycSubmissionFactory.create(
        participant__firm=firm, participant__external_id="user-00001", status=S.MANUAL_REVIEW
    )
    event = {
        "event_type": "kyc.rejected",
        "event_id": "e2",
        "data": {
            "external_id": "user-00001",
            "status": "KYC_STATUS_REJECTED",
            "rejection_reason": "Reject",
        },
    }

    assert deliver(client, event).status_code == 200

    submission.refresh_from_db()
    assert submission.status == S.REJECTED
    assert submission.rejection_reason == "Reject"


def test_a_replayed_delivery_is_acknowledged_and_ignored(client, waiting):
    deliver(client, approved())
    history = waiting.history.count()

    response = deliver(client, approved())

    assert response.status_code == 200
    assert response.content == b"duplicate"
    assert waiting.history.count() == history
    assert WebhookDelivery.objects.count() == 1


def test_the_previous_secret_still_works_during_rotation(client, waiting, firm):
    firm.webhook_secret_previous = SECRET
    firm.webhook_secret = "whsec_" + "bmV3LXNlY3JldC1uZXctc2VjcmV0LW5ldy1zZWNyZXQ="
    firm.save()

    assert deliver(client, approved()).status_code == 200
    waiting.refresh_from_db()
    assert waiting.status == S.APPROVED


@pytest.mark.parametrize(
    ("kwargs", "status", "reason"),
    [
        (
            {"secret": "whsec_" + "b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldC0xMjM0NTY="},
            401,
            b"bad_signature",
        ),
        # Seconds from now, read when the test runs (not when it is collected, minutes earlier).
        ({"timestamp": -400}, 401, b"stale_timestamp"),
        ({"timestamp": +400}, 401, b"stale_timestamp"),
        ({"body": b"{not json"}, 400, b"malformed_json"),
        ({"body": b'{"event_type": "kyc.approved", "data": []}'}, 400, b"bad_field:data"),
        (
            {"body": b'{"event_type": "kyc.approved", "data": {}}'},
            400,
            b"bad_field:data.external_id",
        ),
    ],
)
def test_bad_deliveries_are_refused_changing_nothing_and_logging_no_pii(
    client, waiting, caplog, kwargs, status, reason
):
    if "timestamp" in kwargs:
        kwargs = {**kwargs, "timestamp": int(time.time()) + kwargs["timestamp"]}
    with caplog.at_level(logging.INFO):
        response = deliver(client, approved(), **kwargs)

    assert response.status_code == status
    assert response.content == reason
    waiting.refresh_from_db()
    assert waiting.status == S.AWAITING_PROVISIONING
    assert not WebhookDelivery.objects.exists()
    assert "1985-10-02" not in caplog.text
    assert "user-00001" not in caplog.text


def test_missing_signature_headers_are_refused(client, waiting):
    response = client.post(URL, json.dumps(approved()), content_type="application/json")

    assert response.status_code == 401
    assert response.content == b"missing_headers"


def test_the_registration_test_event_is_acknowledged(client, firm):
    response = deliver(client, {"event_type": "webhook.test", "event_id": "t1", "data": {}})

    assert response.status_code == 200
    assert response.content == b"test"


def test_an_unknown_external_id_is_acknowledged_not_retried_forever(client, firm):
    response = deliver(client, approved("someone-else"))

    assert response.status_code == 200
    assert response.content == b"unknown_external_id"


def test_a_contradiction_keeps_our_state_and_is_acknowledged(client, firm):
    submission = KycSubmissionFactory.create(
        participant__firm=firm, participant__external_id="user-00001", status=S.REJECTED
    )

    response = deliver(client, approved())

    assert response.content == b"conflict"
    submission.refresh_from_db()
    assert submission.status == S.REJECTED
    assert not Account.objects.exists()


def test_the_webhook_needs_no_sign_in_and_no_csrf_token(db, firm, waiting):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)

    assert deliver(strict, approved()).status_code == 200


def test_before_the_firm_is_set_up_the_exchange_is_told_to_retry(client, db, caplog):
    response = deliver(client, approved())

    assert response.status_code == 503
    assert response.content == b"firm_not_set_up"
    assert not WebhookDelivery.objects.exists()
    assert "run manage.py firm_setup" in caplog.text
