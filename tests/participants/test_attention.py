"""Answers the exchange gives that contradict our state: recorded beside it, shown in the queue, and
resolved only by a person adopting the exchange's state with a reason."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from backoffice.audit.models import AuditEvent
from participants.attention import ADOPTABLE, kyc_attention_record, kyc_exchange_state_adopt
from participants.errors import OnboardingError
from participants.models import Account, KycSubmission, Participant, WebhookDelivery
from participants.outcomes import KycOutcome
from tests.factories import KycSubmissionFactory, ParticipantFactory
from tests.participants.conftest import status
from tests.participants.test_webhook import approved, deliver

S = KycSubmission.Status
PID = "firms/ISV-Participant-Acme/users/user-00001"
ACCOUNT = "firms/ISV-Acme/accounts/8f3a2c"
REASON = "The exchange's review desk confirmed it by phone."


@pytest.fixture
def waiting(firm):
    return KycSubmissionFactory.create(
        participant__firm=firm,
        participant__external_id="user-00001",
        status=S.AWAITING_PROVISIONING,
    )


def sync() -> str:
    out = io.StringIO()
    call_command("kyc_sync", stdout=out, stderr=out)
    return out.getvalue()


def flag(submission: KycSubmission, outcome: KycOutcome) -> None:
    kyc_attention_record(
        submission=submission, outcome=outcome, reason="contradicts", source="poll"
    )


def test_a_poll_that_contradicts_our_state_is_flagged_once_not_failed_forever(waiting, exchange):
    exchange.status_answers.extend([status("REVIEW", "OPEN", external_id="user-00001")] * 2)

    with pytest.raises(CommandError, match="1 submissions contradict the exchange"):
        sync()

    waiting.refresh_from_db()
    assert waiting.status == S.AWAITING_PROVISIONING  # nothing decided for the person
    assert waiting.attention_since is not None
    assert waiting.attention_reason == (
        "This submission is now “Approved, awaiting account”, so it cannot become “Manual review”."
    )
    assert waiting.exchange_view["status"] == S.MANUAL_REVIEW
    assert waiting.exchange_view["decision"] == "REVIEW"
    assert "docv_url" not in waiting.exchange_view
    assert AuditEvent.objects.filter(action="participants.kyc.needs_attention").count() == 1

    assert sync().startswith("Checked 1, changed 0")  # the same view again: not news, exit 0

    assert AuditEvent.objects.filter(action="participants.kyc.needs_attention").count() == 1


def test_an_answer_that_applies_again_clears_the_flag(waiting, exchange):
    flag(waiting, KycOutcome(decision="REVIEW", exchange_status="OPEN"))
    exchange.status_answers.append(
        status("ACCEPT", "CLOSED", external_id="user-00001", participant_id=PID, account=ACCOUNT)
    )

    sync()

    waiting.refresh_from_db()
    assert waiting.status == S.APPROVED
    assert (waiting.attention_since, waiting.attention_reason, waiting.exchange_view) == (
        None,
        "",
        {},
    )


def test_a_signed_webhook_that_contradicts_our_decision_is_flagged(client, firm):
    rejected = KycSubmissionFactory.create(
        participant__firm=firm, participant__external_id="user-00001", status=S.REJECTED
    )

    response = deliver(client, approved())

    assert response.status_code == 200
    assert WebhookDelivery.objects.get().outcome == "conflict"
    rejected.refresh_from_db()
    assert rejected.status == S.REJECTED
    assert rejected.exchange_view["status"] == S.APPROVED
    assert rejected.exchange_view["account_id"] == ACCOUNT


def test_the_queue_has_a_tab_of_what_needs_attention(persona, waiting, firm):
    decided = KycSubmissionFactory.create(participant__firm=firm, status=S.REJECTED)
    KycSubmissionFactory.create(participant__firm=firm, status=S.MANUAL_REVIEW)
    flag(waiting, KycOutcome(decision="REVIEW"))
    flag(decided, KycOutcome(event_type="kyc.approved", participant_id=PID, account_id=ACCOUNT))
    compliance = persona("compliance")

    page = compliance.get("/onboarding/?attention=1").content.decode()

    assert 'Needs attention <span class="count count-danger">2</span>' in page
    assert page.count("contradicts the exchange") == 2
    assert waiting.participant.external_id in page
    assert decided.participant.external_id in page


def test_the_participant_page_shows_both_views_and_compliance_adopts_the_exchanges(
    persona, waiting
):
    flag(waiting, KycOutcome(decision="REVIEW", exchange_status="OPEN"))
    compliance = persona("compliance")

    page = compliance.get(f"/onboarding/participants/{waiting.participant_id}/").content.decode()
    assert "Needs attention" in page
    assert "<strong>Manual review</strong>" in page
    assert "Adopt the exchange's state" in page

    response = compliance.post(
        f"/onboarding/submissions/{waiting.pk}/adopt/",
        {"reason": REASON, "confirm": "1"},
        follow=True,
    )

    assert "The exchange&#x27;s state was adopted: “Manual review”." in response.content.decode()
    waiting.refresh_from_db()
    assert waiting.status == S.MANUAL_REVIEW
    assert waiting.attention_since is None
    change = waiting.history.get()
    assert (change.from_status, change.to_status, change.detail, change.actor.username) == (
        S.AWAITING_PROVISIONING,
        S.MANUAL_REVIEW,
        f"adopted the exchange's state: {REASON}",
        "compliance-persona",
    )
    event = AuditEvent.objects.get(action="participants.kyc.exchange_state_adopted")
    assert event.payload == {
        "from": S.AWAITING_PROVISIONING,
        "to": S.MANUAL_REVIEW,
        "reason": REASON,
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"confirm": "1"}, "reason: This field is required."),
        ({"reason": "because", "confirm": "1"}, "at least 10 characters"),
        ({"reason": REASON}, "I have checked the exchange&#x27;s view: This field is required."),
    ],
)
def test_adopting_needs_a_reason_and_a_confirmation(persona, waiting, data, message):
    flag(waiting, KycOutcome(decision="REVIEW"))

    response = persona("compliance").post(
        f"/onboarding/submissions/{waiting.pk}/adopt/", data, follow=True
    )

    assert message.lower() in response.content.decode().lower()
    waiting.refresh_from_db()
    assert waiting.status == S.AWAITING_PROVISIONING
    assert waiting.attention_since is not None


def test_support_may_not_adopt(persona, waiting):
    flag(waiting, KycOutcome(decision="REVIEW"))

    response = persona("support").post(
        f"/onboarding/submissions/{waiting.pk}/adopt/", {"reason": REASON, "confirm": "1"}
    )

    assert response.status_code == 403
    waiting.refresh_from_db()
    assert (waiting.status, waiting.history.count()) == (S.AWAITING_PROVISIONING, 0)


def test_adopting_an_approval_provisions_the_account(waiting, make_user):
    flag(waiting, KycOutcome(event_type="kyc.approved", participant_id=PID, account_id=ACCOUNT))

    kyc_exchange_state_adopt(
        submission=waiting, actor=make_user("casey", "compliance"), reason=REASON
    )

    participant = Participant.objects.get(pk=waiting.participant_id)
    assert (participant.status, participant.participant_id) == (Participant.Status.ACTIVE, PID)
    assert Account.objects.get().account_id == ACCOUNT


def test_an_account_of_someone_else_cannot_be_adopted(waiting, make_user, firm):
    other = ParticipantFactory.create(firm=firm)
    Account.objects.create(participant=other, account_id=ACCOUNT)
    flag(waiting, KycOutcome(event_type="kyc.approved", participant_id=PID, account_id=ACCOUNT))

    with pytest.raises(OnboardingError, match="already belongs to another participant"):
        kyc_exchange_state_adopt(
            submission=waiting, actor=make_user("casey", "compliance"), reason=REASON
        )

    waiting.refresh_from_db()
    assert (waiting.status, waiting.history.count()) == (S.AWAITING_PROVISIONING, 0)
    assert waiting.attention_since is not None


@pytest.mark.parametrize("from_status", S.values)
@pytest.mark.parametrize("to_status", S.values)
def test_the_whole_matrix_of_adoptions(firm, make_user, from_status, to_status):
    submission = KycSubmissionFactory.create(participant__firm=firm, status=from_status)
    KycSubmission.objects.filter(pk=submission.pk).update(
        attention_since="2026-12-01T00:00:00Z", exchange_view={"status": to_status}
    )
    submission.refresh_from_db()
    actor = make_user("casey", "compliance")

    if to_status in ADOPTABLE.get(from_status, set()):
        assert kyc_exchange_state_adopt(submission=submission, actor=actor, reason=REASON) == (
            to_status
        )
        submission.refresh_from_db()
        assert submission.status == to_status
        assert submission.history.get().to_status == to_status
    else:
        with pytest.raises(OnboardingError):
            kyc_exchange_state_adopt(submission=submission, actor=actor, reason=REASON)
        submission.refresh_from_db()
        assert (submission.status, submission.history.count()) == (from_status, 0)


def test_only_the_exchanges_states_can_be_adopted_and_never_a_withdrawal():
    exchange_states = {
        S.AWAITING_PROVISIONING, S.DOCUMENT_CHECK, S.MANUAL_REVIEW, S.RESUBMIT, S.APPROVED,
        S.REJECTED,
    }  # fmt: skip
    assert set().union(*ADOPTABLE.values()) == exchange_states
    assert S.WITHDRAWN not in ADOPTABLE
    assert all(state not in moves for state, moves in ADOPTABLE.items())
