"""Intake and sending: the record is committed first, the exchange's answer is recorded, a failed
send stays visible and retryable, and nothing is submitted twice."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from backoffice.audit.models import AuditEvent
from backoffice.gateway import errors
from participants.errors import ExchangeContradicts
from participants.models import Account, KycSubmission, Participant
from participants.outcomes import KycOutcome
from participants.services import kyc_outcome_apply
from participants.states import KycTransitionRefused
from tests.factories import KycSubmissionFactory
from tests.participants.conftest import UNAVAILABLE, intake_data, status

REFUSED_CONNECTION = errors.ConnectionFailed("NewConnectionError", reached=False)

S = KycSubmission.Status


@pytest.fixture
def support(persona):
    return persona("support")


def post_intake(client, **overrides):
    return client.post("/onboarding/new/", intake_data(**overrides))


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (status("ACCEPT", "ON_HOLD"), S.AWAITING_PROVISIONING),
        (status("REVIEW", "ON_HOLD", docv_url="https://verify.example/d/abc"), S.DOCUMENT_CHECK),
        (status("REVIEW", "OPEN"), S.MANUAL_REVIEW),
        (status("RESUBMIT", "OPEN"), S.RESUBMIT),
        (status("REJECT", "CLOSED"), S.REJECTED),
    ],
)
def test_each_decision_is_recorded(support, firm, exchange, answer, expected):
    exchange.start_answers.append(answer)

    response = post_intake(support)

    assert response.status_code == 302
    submission = KycSubmission.objects.get()
    assert submission.status == expected
    assert submission.decision == answer.decision
    assert [h.to_status for h in submission.history.all()] == [S.PENDING, S.SUBMITTING, expected]
    sent = exchange.started[0]
    assert (sent.external_id, sent.ssn, sent.phone_number) == (
        "user-123",
        "123456789",
        "+12125551234",
    )
    assert exchange.actors[0].username == "support-persona"
    assert response["Location"] == f"/onboarding/participants/{submission.participant_id}/"


def test_a_document_check_keeps_the_link_as_a_secret(support, firm, exchange, persona):
    exchange.start_answers.append(
        status("REVIEW", "ON_HOLD", docv_url="https://verify.example/d/abc")
    )
    post_intake(support)
    submission = KycSubmission.objects.get()

    page = support.get(f"/onboarding/participants/{submission.participant_id}/").content.decode()

    assert submission.docv_url == "https://verify.example/d/abc"
    assert "verify.example" not in page
    assert "Document-check link" in page


def test_an_immediately_provisioned_answer_records_the_ids(support, firm, exchange):
    exchange.start_answers.append(
        status(
            "ACCEPT",
            "CLOSED",
            participant_id="firms/ISV-Participant-Acme/users/user-123",
            account="firms/ISV-Acme/accounts/a1",
        )
    )

    post_intake(support)

    participant = Participant.objects.get()
    assert participant.participant_id == "firms/ISV-Participant-Acme/users/user-123"
    assert participant.status == Participant.Status.ACTIVE
    assert list(Account.objects.values_list("account_id", flat=True)) == [
        "firms/ISV-Acme/accounts/a1"
    ]


def test_an_unreachable_exchange_leaves_a_record_that_is_sent_again(support, firm, exchange):
    exchange.start_answers.append(REFUSED_CONNECTION)

    response = post_intake(support)

    submission = KycSubmission.objects.get()
    assert submission.status == S.SUBMIT_FAILED
    assert submission.last_error == (
        "Not sent: the exchange could not take it now (connection_failed), so nothing was done there. "
        "It is sent again automatically within a few minutes; Retry sends it now."
    )
    page = support.get(response["Location"]).content.decode()
    assert "Retry sending" in page
    assert submission.last_error in page

    exchange.start_answers.append(status("ACCEPT", "ON_HOLD"))
    retried = support.post(f"/onboarding/submissions/{submission.pk}/retry/")

    assert retried.status_code == 302
    submission.refresh_from_db()
    assert submission.status == S.AWAITING_PROVISIONING
    assert submission.last_error == ""
    assert [a.external_id for a in exchange.started] == ["user-123", "user-123"]
    assert exchange.asked == []  # nothing had reached the exchange: no need to ask it
    assert Participant.objects.count() == 1
    assert KycSubmission.objects.count() == 1


def test_an_unanswered_send_is_settled_by_reading_before_any_second_send(support, firm, exchange):
    exchange.start_answers.append(UNAVAILABLE)

    response = post_intake(support)

    submission = KycSubmission.objects.get()
    assert submission.status == S.OUTCOME_UNKNOWN
    assert submission.last_error == (
        "Sent; the exchange's answer is not known yet (unavailable) and is being checked. "
        "It will be sent again only if the exchange has no record of it."
    )
    page = support.get(response["Location"]).content.decode()
    assert "Ask the exchange now" in page

    # Pressed at once, Retry only asks: a send made seconds ago may still be reaching the exchange.
    exchange.status_answers.append(errors.NotFound("no evaluation", http_status=404))
    support.post(f"/onboarding/submissions/{submission.pk}/retry/")

    submission.refresh_from_db()
    assert submission.status == S.OUTCOME_UNKNOWN
    assert submission.last_error.startswith("Sent; the exchange has no record of it yet")
    assert len(exchange.started) == 1

    # A minute later the exchange still has no record of it: now it is sent again.
    KycSubmission.objects.filter(pk=submission.pk).update(
        sent_at=timezone.now() - dt.timedelta(minutes=2)
    )
    exchange.status_answers.append(errors.NotFound("no evaluation", http_status=404))
    exchange.start_answers.append(status("ACCEPT", "ON_HOLD"))
    support.post(f"/onboarding/submissions/{submission.pk}/retry/")

    submission.refresh_from_db()
    assert submission.status == S.AWAITING_PROVISIONING
    assert exchange.asked == ["user-123", "user-123"]
    assert len(exchange.started) == 2


def test_a_retry_of_a_submission_the_exchange_already_evaluated_does_not_send_it_again(
    support, firm, exchange
):
    exchange.start_answers.append(UNAVAILABLE)
    exchange.status_answers.append(
        status(
            "ACCEPT",
            "CLOSED",
            participant_id="firms/P/users/user-123",
            account="firms/I/accounts/1",
        )
    )
    post_intake(support)
    submission = KycSubmission.objects.get()

    support.post(f"/onboarding/submissions/{submission.pk}/retry/")

    submission.refresh_from_db()
    assert submission.status == S.APPROVED
    assert submission.last_error == ""
    assert exchange.asked == ["user-123"]
    assert len(exchange.started) == 1


def test_a_send_answered_already_exists_reads_the_evaluation(support, firm, exchange):
    exchange.start_answers.extend(
        [REFUSED_CONNECTION, errors.AlreadyExists("approved", http_status=409)]
    )
    exchange.status_answers.append(
        status(
            "ACCEPT",
            "CLOSED",
            participant_id="firms/P/users/user-123",
            account="firms/I/accounts/1",
        )
    )
    post_intake(support)
    submission = KycSubmission.objects.get()

    support.post(f"/onboarding/submissions/{submission.pk}/retry/")

    submission.refresh_from_db()
    assert submission.status == S.APPROVED
    assert exchange.asked == ["user-123"]


def test_only_a_failed_submission_can_be_retried(support, firm, exchange):
    exchange.start_answers.append(status("REVIEW", "OPEN"))
    post_intake(support)
    submission = KycSubmission.objects.get()

    support.post(f"/onboarding/submissions/{submission.pk}/retry/")

    submission.refresh_from_db()
    assert submission.status == S.MANUAL_REVIEW
    assert len(exchange.started) == 1


def test_a_used_external_id_is_refused_naming_the_field(support, firm, exchange):
    exchange.start_answers.append(status())
    post_intake(support)

    response = post_intake(support, ssn="987654321")

    assert response.status_code == 200
    assert "This external id is already used." in response.content.decode()
    assert KycSubmission.objects.count() == 1
    assert len(exchange.started) == 1


def test_bad_input_over_htmx_returns_the_form_with_errors_and_writes_nothing(
    support, firm, exchange
):
    response = support.post(
        "/onboarding/new/",
        intake_data(ssn="12", postal_code="ABCDE"),
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="intake-form",
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<form id="intake-form"')
    assert "An SSN has exactly nine digits, 0-9." in html
    assert "A ZIP code has five digits, 0-9." in html
    assert not Participant.objects.exists()
    assert not exchange.started


def test_a_good_htmx_intake_redirects_the_browser(support, firm, exchange):
    exchange.start_answers.append(status())

    response = support.post("/onboarding/new/", intake_data(), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert response["HX-Redirect"].startswith("/onboarding/participants/")


def test_treasury_cannot_onboard(persona, firm, exchange):
    response = persona("treasury").post("/onboarding/new/", intake_data())

    assert response.status_code == 403
    assert not Participant.objects.exists()
    assert not exchange.started
    assert AuditEvent.objects.filter(action="identity.access.refused").exists()


def test_a_duplicate_ssn_is_held_for_compliance_and_not_sent(support, persona, firm, exchange):
    exchange.start_answers.append(status())
    post_intake(support)

    post_intake(support, external_id="user-456")

    held = KycSubmission.objects.get(participant__external_id="user-456")
    assert held.status == S.HELD_DUPLICATE
    assert KycSubmission.objects.filter(
        pk=held.pk, duplicate_of__participant__external_id="user-123"
    ).exists()
    assert len(exchange.started) == 1
    assert AuditEvent.objects.filter(
        action="participants.kyc.duplicate_flagged", object_id=str(held.pk)
    ).exists()

    refused = support.post(
        f"/onboarding/submissions/{held.pk}/duplicate/",
        {"decision": "release", "reason": "Checked: a different person", "confirm_different": "on"},
    )
    assert refused.status_code == 403
    held.refresh_from_db()
    assert held.status == S.HELD_DUPLICATE

    exchange.start_answers.append(status("REVIEW", "OPEN", external_id="user-456"))
    persona("compliance").post(
        f"/onboarding/submissions/{held.pk}/duplicate/",
        {"decision": "release", "reason": "Checked: a different person", "confirm_different": "on"},
    )
    held.refresh_from_db()
    assert held.status == S.MANUAL_REVIEW
    assert [a.external_id for a in exchange.started] == ["user-123", "user-456"]


def test_compliance_can_withdraw_a_held_duplicate_with_a_reason(support, persona, firm, exchange):
    exchange.start_answers.append(status())
    post_intake(support)
    post_intake(support, external_id="user-456")
    held = KycSubmission.objects.get(participant__external_id="user-456")
    compliance = persona("compliance")

    compliance.post(
        f"/onboarding/submissions/{held.pk}/duplicate/", {"decision": "withdraw", "reason": "short"}
    )
    held.refresh_from_db()
    assert held.status == S.HELD_DUPLICATE

    compliance.post(
        f"/onboarding/submissions/{held.pk}/duplicate/",
        {"decision": "withdraw", "reason": "Same person as user-123"},
    )
    held.refresh_from_db()
    assert held.status == S.WITHDRAWN
    assert held.participant.status == Participant.Status.WITHDRAWN
    assert len(exchange.started) == 1


def test_without_a_firm_the_form_says_what_to_do(support, exchange, db):
    response = post_intake(support)

    assert (
        "No firm is set up for the sandbox environment; run manage.py firm_setup."
        in response.content.decode()
    )
    assert not Participant.objects.exists()


def test_an_answer_older_than_the_decision_is_ignored(firm, exchange):
    """The approval webhook can land before the start call's own answer is recorded."""

    submission = KycSubmissionFactory.create(
        participant__firm=firm, status=S.APPROVED, decision="ACCEPT"
    )

    kyc_outcome_apply(
        submission=submission,
        outcome=KycOutcome(decision="ACCEPT", exchange_status="ON_HOLD"),
        actor=None,
        source="exchange",
    )

    submission.refresh_from_db()
    assert submission.status == S.APPROVED
    assert not submission.history.exists()


def test_a_contradicting_decision_is_refused(firm, exchange):

    submission = KycSubmissionFactory.create(participant__firm=firm, status=S.APPROVED)

    with pytest.raises(ExchangeContradicts) as caught:
        kyc_outcome_apply(
            submission=submission, outcome=KycOutcome(decision="REJECT"), actor=None, source="poll"
        )

    assert isinstance(caught.value.__cause__, KycTransitionRefused)
    assert caught.value.outcome == KycOutcome(decision="REJECT")
    submission.refresh_from_db()
    assert submission.status == S.APPROVED


def test_an_unconfigured_exchange_connection_is_named_not_blamed_on_the_exchange(
    support, firm, exchange
):
    exchange.start_answers.append(errors.GatewayNotConfigured("POLYMARKET_CLIENT_ID is not set"))

    post_intake(support)

    submission = KycSubmission.objects.get()
    assert submission.status == S.SUBMIT_FAILED
    assert submission.last_error == (
        "Not sent: the connection to the exchange is misconfigured (POLYMARKET_CLIENT_ID is not "
        "set). An administrator must fix the settings; it is sent once they are fixed."
    )


@pytest.mark.parametrize(
    ("role", "method", "path", "data"),
    [
        ("treasury", "post", "/onboarding/submissions/{pk}/retry/", {}),
        ("treasury", "post", "/onboarding/submissions/{pk}/notes/", {"text": "hello"}),
        (
            "support",
            "post",
            "/onboarding/submissions/{pk}/duplicate/",
            {"decision": "withdraw", "reason": "looks like the same person"},
        ),
        ("treasury", "get", "/onboarding/export.csv", {}),
        ("treasury", "get", "/onboarding/", {}),
    ],
)
def test_actions_refuse_roles_without_them_and_change_nothing(
    persona, firm, exchange, role, method, path, data
):
    submission = KycSubmissionFactory.create(participant__firm=firm, status=S.SUBMIT_FAILED)

    response = getattr(persona(role), method)(path.format(pk=submission.pk), data)

    assert response.status_code == 403
    submission.refresh_from_db()
    assert submission.status == S.SUBMIT_FAILED
    assert not submission.notes.exists()
    assert not exchange.started
    assert AuditEvent.objects.filter(action="identity.access.refused").exists()
