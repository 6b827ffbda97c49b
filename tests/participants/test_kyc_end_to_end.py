"""Every documented sandbox trigger, end to end: our intake, the real gateway, the sandbox
exchange on loopback, and the decision arriving by signed webhook or by kyc_sync."""

from __future__ import annotations

import datetime as dt
import io
import time

import pytest
import requests
from django.core.management import call_command
from django.utils import timezone

from participants.firms import firm_setup
from participants.forms import IntakeForm
from participants.models import Account, Firm, KycSubmission, WebhookDelivery
from participants.services import kyc_submission_send, participant_intake
from tests.participants.conftest import intake_data, sandbox_admin, wait_for_status

S = KycSubmission.Status
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff(make_user):
    return make_user("onboarder", "compliance")


@pytest.fixture
def webhooked(live_exchange, live_server):
    """The firm set up with its KYC webhook pointing at this back-office (a live server)."""
    firm = firm_setup(webhook_url=f"{live_server.url}/webhooks/polymarket/kyc/", actor=None)
    assert WebhookDelivery.objects.filter(event_type="webhook.test").exists()
    return firm


@pytest.fixture
def polled(live_exchange):
    """The firm known here but no webhook registered at the exchange: only kyc_sync brings news."""
    return Firm.objects.create(
        environment="sandbox", client_id=live_exchange.client_id, firm_id="Acme"
    )


def intake(firm, staff, **overrides) -> KycSubmission:
    form = IntakeForm(intake_data(**overrides))
    assert form.is_valid(), form.errors
    return participant_intake(firm=firm, data=form.cleaned_data, actor=staff)


def sync() -> None:
    call_command("kyc_sync", stdout=io.StringIO())


def test_instant_approval_arrives_by_webhook(webhooked, live_exchange, staff):
    submission = intake(webhooked, staff)

    # Approved at once; the account follows, and its webhook may even beat the answer here.
    assert submission.status in {S.AWAITING_PROVISIONING, S.APPROVED}
    wait_for_status(live_exchange, submission, S.APPROVED)
    assert submission.participant.participant_id == "firms/ISV-Participant-Acme/users/user-123"
    account = Account.objects.get()
    assert account.account_id.startswith("firms/ISV-Acme/accounts/")
    assert list(submission.history.values_list("source", flat=True))[-1] == "webhook"


def test_instant_approval_arrives_by_kyc_sync(polled, live_exchange, staff):
    submission = intake(polled, staff)
    live_exchange.tick()  # the sandbox provisions the account

    sync()

    submission.refresh_from_db()
    assert submission.status == S.APPROVED
    assert list(submission.history.values_list("source", flat=True))[-1] == "poll"
    assert Account.objects.filter(participant=submission.participant).exists()


def test_rejection_by_email_trigger(webhooked, staff):
    submission = intake(webhooked, staff, email="reject@example.com")

    assert submission.status == S.REJECTED
    assert submission.decision == "REJECT"


@pytest.mark.parametrize(("decision", "final"), [("approve", S.APPROVED), ("reject", S.REJECTED)])
def test_manual_review_then_a_decision_by_webhook(webhooked, live_exchange, staff, decision, final):
    submission = intake(webhooked, staff, first_name="Paulina", last_name="Gizela")
    assert submission.status == S.MANUAL_REVIEW

    sandbox_admin(
        live_exchange,
        "kyc/review",
        {"firm_id": "Acme", "external_id": "user-123", "decision": decision},
    )

    wait_for_status(live_exchange, submission, final)


def test_manual_review_decision_found_by_kyc_sync(polled, live_exchange, staff):
    submission = intake(polled, staff, first_name="Paulina", last_name="Gizela")
    sandbox_admin(
        live_exchange,
        "kyc/review",
        {"firm_id": "Acme", "external_id": "user-123", "decision": "reject"},
    )

    sync()

    submission.refresh_from_db()
    assert submission.status == S.REJECTED


@pytest.mark.parametrize(
    ("born", "final"), [("1985-09-02", S.APPROVED), ("1985-09-05", S.REJECTED)]
)
def test_document_check_then_a_decision_by_webhook(webhooked, live_exchange, staff, born, final):
    submission = intake(webhooked, staff, date_of_birth=born, docv_eligible="on")
    assert submission.status == S.DOCUMENT_CHECK
    assert submission.docv_url.startswith("http")

    sandbox_admin(
        live_exchange, "kyc/docv-complete", {"firm_id": "Acme", "external_id": "user-123"}
    )

    wait_for_status(live_exchange, submission, final)
    assert submission.docv_url == ""  # the link died with the document check


def test_document_check_then_manual_review_found_by_kyc_sync(webhooked, live_exchange, staff):
    submission = intake(webhooked, staff, date_of_birth="1985-09-25", docv_eligible="on")
    sandbox_admin(
        live_exchange, "kyc/docv-complete", {"firm_id": "Acme", "external_id": "user-123"}
    )

    sync()  # no webhook for a non-terminal outcome: only the poll can tell

    submission.refresh_from_db()
    assert submission.status == S.MANUAL_REVIEW


@pytest.mark.parametrize(
    ("born", "expected"),
    [("1985-10-02", {S.AWAITING_PROVISIONING, S.APPROVED}), ("1985-09-04", {S.REJECTED})],
)
def test_document_check_eligible_immediate_outcomes(webhooked, staff, born, expected):
    submission = intake(webhooked, staff, date_of_birth=born, docv_eligible="on")

    assert submission.status in expected
    assert submission.docv_url == ""


def test_exchange_down_during_submission_leaves_a_retryable_record_and_no_duplicate(
    webhooked, live_exchange, staff
):
    sandbox_admin(
        live_exchange, "faults", {"family": "kyc", "kind": "error", "status": 503, "count": 1}
    )

    submission = intake(webhooked, staff)

    assert submission.status == S.OUTCOME_UNKNOWN
    KycSubmission.objects.filter(pk=submission.pk).update(
        sent_at=timezone.now() - dt.timedelta(minutes=2)  # past the window a send can arrive in
    )
    submission.refresh_from_db()
    submission = kyc_submission_send(submission=submission, actor=staff).submission
    assert submission.status in {S.AWAITING_PROVISIONING, S.APPROVED}
    wait_for_status(live_exchange, submission, S.APPROVED)
    status = live_exchange.get("/v1/kyc/status", external_id="user-123").json()
    assert status["status"]["externalId"] == "user-123"
    assert KycSubmission.objects.count() == 1


def test_two_syncs_at_once_do_not_work_the_same_submission(polled, live_exchange, staff):
    submission = intake(polled, staff)
    live_exchange.tick()
    KycSubmission.objects.filter(pk=submission.pk).update(lease_until="2999-01-01T00:00:00Z")

    out = io.StringIO()
    call_command("kyc_sync", stdout=out)

    assert "skipped 1 (held by another run)" in out.getvalue()
    submission.refresh_from_db()
    assert submission.status == S.AWAITING_PROVISIONING


# --- the exchange evaluates a participant once, whatever the faults and whoever presses Retry ----


def evaluations(partner, external_id: str = "user-123") -> int:
    counted = requests.get(
        f"{partner.base}/_sandbox/kyc/evaluations",
        params={"firm_id": partner.firm_id, "external_id": external_id},
        timeout=10,
    )
    assert counted.status_code == 200, counted.text
    return int(counted.json()["evaluations"])


@pytest.fixture
def officer(persona):
    return persona("compliance")


def post_intake(client, **overrides):
    response = client.post("/onboarding/new/", intake_data(**overrides))
    assert response.status_code == 302, response.content
    return KycSubmission.objects.get()


def test_a_garbled_answer_then_retry_at_once_evaluates_the_applicant_once(
    polled, live_exchange, officer
):
    sandbox_admin(live_exchange, "faults", {"family": "kyc", "kind": "malformed", "count": 1})

    submission = post_intake(officer, email="reject@example.com")

    assert submission.status == S.OUTCOME_UNKNOWN
    retried = officer.post(f"/onboarding/submissions/{submission.pk}/retry/")
    assert retried.status_code == 302
    submission.refresh_from_db()
    assert submission.status == S.REJECTED
    assert submission.last_error == ""
    assert evaluations(live_exchange) == 1


def test_a_timeout_after_sending_then_retry_at_once_evaluates_the_applicant_once(
    polled, live_exchange, officer, settings
):
    settings.POLYMARKET_STAFF_READ_TIMEOUT_SECONDS = 0.4
    sandbox_admin(
        live_exchange,
        "faults",
        {"family": "kyc", "kind": "latency", "latency_ms": 1200, "count": 1},
    )

    submission = post_intake(officer, email="reject@example.com")

    assert submission.status == S.OUTCOME_UNKNOWN
    officer.post(f"/onboarding/submissions/{submission.pk}/retry/")  # the exchange is still at it
    submission.refresh_from_db()
    assert submission.status == S.OUTCOME_UNKNOWN
    assert evaluations(live_exchange) <= 1
    deadline = time.monotonic() + 10
    while evaluations(live_exchange) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)  # the slow first request finishes on the exchange's side
    sync()
    submission.refresh_from_db()
    assert submission.status == S.REJECTED
    assert evaluations(live_exchange) == 1


def test_when_the_webhook_arrives_first_retry_has_nothing_left_to_do(
    webhooked, live_exchange, officer
):
    sandbox_admin(live_exchange, "faults", {"family": "kyc", "kind": "malformed", "count": 1})

    submission = post_intake(officer, email="reject@example.com")
    wait_for_status(live_exchange, submission, S.REJECTED)  # the signed kyc.rejected arrived

    retried = officer.post(f"/onboarding/submissions/{submission.pk}/retry/", follow=True)

    assert retried.status_code == 200
    assert "This submission is “Rejected”: there is nothing to retry." in retried.content.decode()
    submission.refresh_from_db()
    assert (submission.status, submission.last_error) == (S.REJECTED, "")
    assert evaluations(live_exchange) == 1
