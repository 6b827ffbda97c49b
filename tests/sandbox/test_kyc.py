"""KYC: validation, every documented sandbox trigger, provisioning, webhooks and their signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from unittest import mock

import pytest

from tests.sandbox.partner import Partner, WebhookReceiver

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Standard Webhooks, exactly as API.md 5.2 documents it."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    candidates = [s.split(",", 1)[1] for s in headers["webhook-signature"].split(" ")]
    return any(hmac.compare_digest(expected, c) for c in candidates)


def register(partner: Partner, receiver: WebhookReceiver, secret: str = SECRET) -> None:
    response = partner.post(
        "/v1/kyc/webhook", {"webhook_url": receiver.url, "signing_secret": secret}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "validated": True,
        "message": "Webhook URL registered and validated successfully",
    }


def start(partner: Partner, external_id: str, **changes: object) -> dict:
    response = partner.post("/v1/kyc/start", partner.kyc_body(external_id, **changes))
    assert response.status_code == 200, response.text
    return response.json()


def status(partner: Partner, external_id: str) -> dict:
    partner.tick()
    return partner.get("/v1/kyc/status", external_id=external_id).json()


def test_registration_sends_signed_webhook_test(partner: Partner, webhook_receiver) -> None:
    register(partner, webhook_receiver)
    [test] = webhook_receiver.received
    assert test.json()["event_type"] == "webhook.test"
    assert verify(SECRET, test.headers, test.body)


def test_registration_failure_saves_nothing(partner: Partner, webhook_receiver) -> None:
    webhook_receiver.statuses = [500]
    response = partner.post("/v1/kyc/webhook", {"webhook_url": webhook_receiver.url})
    assert response.status_code == 400
    config = partner.admin("GET", f"/firms/{partner.firm_id}").json()
    assert config["webhookUrl"] == ""
    short = partner.post(
        "/v1/kyc/webhook", {"webhook_url": webhook_receiver.url, "signing_secret": "whsec_AAAA"}
    )
    assert short.status_code == 400


def test_instant_approval_provisions_and_signs(partner: Partner, webhook_receiver) -> None:
    register(partner, webhook_receiver)
    first = start(partner, "alice-1")
    assert first["status"] == {
        "decision": "ACCEPT",
        "status": "ON_HOLD",
        "subStatus": "Accept",
        "externalId": "alice-1",
    }
    assert first["participantId"] == ""
    final = status(partner, "alice-1")
    assert final["status"]["status"] == "CLOSED"
    assert final["participantId"] == f"firms/ISV-Participant-{partner.firm_id}/users/alice-1"
    assert final["provisionedAccount"].startswith(f"firms/ISV-{partner.firm_id}/accounts/")
    received = webhook_receiver.wait_for(2)
    approved = received[1]
    assert verify(SECRET, approved.headers, approved.body)
    data = approved.json()["data"]
    assert approved.json()["event_type"] == "kyc.approved"
    assert approved.headers["webhook-id"] == approved.json()["event_id"]
    assert data["status"] == "KYC_STATUS_APPROVED"
    assert data["provisioned_participant"] == final["participantId"]
    assert data["provisioned_account"] == final["provisionedAccount"]
    again = partner.post("/v1/kyc/start", partner.kyc_body("alice-1"))
    assert again.status_code == 409
    assert again.json()["code"] == 6


def test_reject_email(partner: Partner, webhook_receiver) -> None:
    register(partner, webhook_receiver)
    result = start(partner, "bob", email="reject@example.com")
    assert result["status"]["decision"] == "REJECT"
    assert result["status"]["status"] == "CLOSED"
    rejected = webhook_receiver.wait_for(2)[1]
    assert rejected.json()["event_type"] == "kyc.rejected"
    assert rejected.json()["data"]["status"] == "KYC_STATUS_REJECTED"
    # A rejected external_id may be evaluated again.
    assert start(partner, "bob")["status"]["decision"] == "ACCEPT"
    counted = partner.admin(
        "GET", "/kyc/evaluations", firm_id=partner.firm_id, external_id="bob"
    ).json()
    assert counted["evaluations"] == 2
    assert len(set(counted["evalIds"])) == 2


def test_a_start_for_an_evaluation_still_open_is_not_a_new_evaluation(partner: Partner) -> None:
    first = start(partner, "rita", first_name="Paulina", last_name="Gizela")  # manual review
    again = start(partner, "rita", first_name="Paulina", last_name="Gizela")

    assert first["status"]["decision"] == again["status"]["decision"] == "REVIEW"
    assert partner.admin(
        "GET", "/kyc/evaluations", firm_id=partner.firm_id, external_id="rita"
    ).json() == {"evaluations": 1, "evalIds": [mock.ANY]}


def test_manual_review_then_decision(partner: Partner) -> None:
    result = start(partner, "pg", first_name="Paulina", last_name="Gizela")
    assert result["status"] == {
        "decision": "REVIEW",
        "status": "OPEN",
        "subStatus": "In Review",
        "externalId": "pg",
    }
    assert "docv" not in result
    assert start(partner, "pg", first_name="Paulina", last_name="Gizela") == result
    decided = partner.admin(
        "POST",
        "/kyc/review",
        {"firmId": partner.firm_id, "externalId": "pg", "decision": "approve"},
    )
    assert decided.status_code == 200, decided.text
    assert status(partner, "pg")["status"]["status"] == "CLOSED"


@pytest.mark.parametrize(
    ("dob", "after_upload", "final_decision"),
    [
        ("1985-09-02", "ACCEPT", "ACCEPT"),
        ("1985-09-05", "REJECT", "REJECT"),
        ("1985-09-25", "REVIEW", "REVIEW"),
    ],
)
def test_docv_flows(partner: Partner, dob: str, after_upload: str, final_decision: str) -> None:
    result = start(partner, "docv-" + dob, date_of_birth=dob, docv_eligible=True)
    assert result["status"]["decision"] == "REVIEW"
    assert result["status"]["status"] == "ON_HOLD"
    assert result["docv"]["docvTransactionToken"].startswith("dt_")
    assert "docv" in status(partner, "docv-" + dob)
    done = partner.admin(
        "POST", "/kyc/docv-complete", {"firmId": partner.firm_id, "externalId": "docv-" + dob}
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"]["decision"] == after_upload
    final = status(partner, "docv-" + dob)
    assert "docv" not in final
    assert final["status"]["decision"] == final_decision


@pytest.mark.parametrize(("dob", "decision"), [("1985-10-02", "ACCEPT"), ("1985-09-04", "REJECT")])
def test_docv_immediate(partner: Partner, dob: str, decision: str) -> None:
    result = start(partner, "imm", date_of_birth=dob, docv_eligible=True)
    assert result["status"]["decision"] == decision
    assert "docv" not in result


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ssn": "123-45-6789"}, "ssn"),
        ({"external_id": "x" * 50}, "external_id"),
        ({"first_name": ""}, "first_name"),
        ({"date_of_birth": "01/02/1990"}, "date_of_birth"),
        ({"phone_number": "2125551234"}, "phone_number"),
        (
            {
                "address": {
                    "address_line_1": "1",
                    "city": "c",
                    "state": "ZZ",
                    "postal_code": "10001",
                }
            },
            "state",
        ),
        ({"ip_address": "not-an-ip"}, "ip_address"),
        ({"agreement": {"version": "v"}}, "signed_at"),
    ],
)
def test_start_validation(partner: Partner, change: dict, field: str) -> None:
    body = {**partner.kyc_body("val"), **change}
    response = partner.post("/v1/kyc/start", body)
    assert response.status_code == 400
    assert response.json()["code"] == 3
    assert field in response.json()["message"]


def test_prefill_triggers(partner: Partner) -> None:
    ok = partner.post(
        "/v1/kyc/prefill",
        {"phone_number": "+14155551212", "date_of_birth": "1985-03-30", "user_id": "pre-1"},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"]["status"] == "otp_sent"
    no_match = partner.post(
        "/v1/kyc/prefill",
        {"phone_number": "+12067890036", "date_of_birth": "1985-03-30", "user_id": "pre-2"},
    )
    assert no_match.status_code == 400
    pending = partner.post("/v1/kyc/prefill/otp", {"otp": "000000", "external_id": "pre-1"})
    assert pending.json()["status"]["status"] == "otp_sent"
    rejected = partner.post("/v1/kyc/prefill/otp", {"otp": "00000", "external_id": "pre-1"})
    assert rejected.status_code == 400
    done = partner.post("/v1/kyc/prefill/otp", {"otp": "123456", "external_id": "pre-1"})
    assert done.status_code == 200
    assert done.json()["status"]["status"] == "prefill_complete"
    assert done.json()["ssn"] == "6789"


def test_webhook_retries_until_2xx_then_stop(partner: Partner, webhook_receiver) -> None:
    register(partner, webhook_receiver)
    webhook_receiver.statuses = [500, 503]
    start(partner, "retry-me")
    partner.tick()
    received = webhook_receiver.wait_for(4)  # test + two failures + success
    approvals = [r for r in received if r.json()["event_type"] == "kyc.approved"]
    assert len(approvals) == 3
    assert len({r.headers["webhook-id"] for r in approvals}) == 1
    assert all(verify(SECRET, r.headers, r.body) for r in approvals)
    # The receiver has the third POST before the worker has written down its 2xx: wait for that.
    deadline = time.monotonic() + 5
    while True:
        deliveries = partner.admin("GET", "/webhooks", firmId=partner.firm_id).json()["deliveries"]
        [delivery] = [d for d in deliveries if d["eventType"] == "kyc.approved"]
        if delivery["state"] == "delivered" or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert delivery["state"] == "delivered"
    assert delivery["attempts"] == 3
    partner.tick()
    assert len(list(webhook_receiver.of_type("kyc.approved"))) == 3
