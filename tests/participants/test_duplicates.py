"""A held duplicate is released only with a reason and a confirmation, on the record; both
participants' pages link to each other."""

from __future__ import annotations

import pytest

from backoffice.audit.models import AuditEvent
from participants.models import KycSubmission
from tests.factories import KycSubmissionFactory
from tests.participants.conftest import status

S = KycSubmission.Status
REASON = "Different date of birth and address; confirmed by phone"


@pytest.fixture
def pair(firm):
    original = KycSubmissionFactory.create(
        participant__firm=firm, participant__external_id="demo-ada", status=S.APPROVED
    )
    held = KycSubmissionFactory.create(
        participant__firm=firm,
        participant__external_id="user-123",
        status=S.HELD_DUPLICATE,
        ssn=original.ssn,
        ssn_hash=original.ssn_hash,
        duplicate_of=original,
    )
    return original, held


def review(client, held, **data):
    return client.post(f"/onboarding/submissions/{held.pk}/duplicate/", data, follow=True)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"decision": "release", "confirm_different": "on"}, "Give a reason of at least 10"),
        (
            {"decision": "release", "reason": "ok", "confirm_different": "on"},
            "Give a reason of at least 10",
        ),
        (
            {"decision": "release", "reason": REASON},
            "confirm that you checked this is a different person",
        ),
        ({"decision": "withdraw"}, "Give a reason of at least 10"),
        ({"decision": "maybe", "reason": REASON}, "Choose to release or to withdraw."),
    ],
)
def test_a_release_without_reason_or_confirmation_changes_nothing(
    persona, pair, exchange, data, message
):
    _, held = pair

    response = review(persona("compliance"), held, **data)

    assert message in response.content.decode()
    held.refresh_from_db()
    assert held.status == S.HELD_DUPLICATE
    assert exchange.started == []
    assert not AuditEvent.objects.filter(
        action__startswith="participants.kyc.duplicate_rel"
    ).exists()


def test_a_release_with_reason_and_confirmation_is_sent_and_audited(persona, pair, exchange):
    original, held = pair
    exchange.start_answers.append(status("REVIEW", "OPEN", external_id="user-123"))

    review(persona("compliance"), held, decision="release", reason=REASON, confirm_different="on")

    held.refresh_from_db()
    assert held.status == S.MANUAL_REVIEW
    released = AuditEvent.objects.get(action="participants.kyc.duplicate_released")
    assert released.payload == {"duplicate_of": original.pk, "reason": REASON}
    assert released.actor_label == "compliance-persona"
    assert held.history.get(to_status=S.PENDING).detail == f"duplicate released: {REASON}"


def test_a_withdrawal_is_audited_with_its_reason(persona, pair, exchange):
    _, held = pair

    review(persona("compliance"), held, decision="withdraw", reason="Same person as demo-ada")

    held.refresh_from_db()
    assert held.status == S.WITHDRAWN
    event = AuditEvent.objects.get(action="participants.kyc.withdrawn")
    assert event.payload == {"reason": "Same person as demo-ada"}
    assert exchange.started == []


def test_both_pages_link_to_the_other(persona, pair):
    original, held = pair
    client = persona("compliance")

    held_page = client.get(f"/onboarding/participants/{held.participant_id}/").content.decode()
    original_page = client.get(
        f"/onboarding/participants/{original.participant_id}/"
    ).content.decode()

    assert (
        f'<a href="/onboarding/participants/{original.participant_id}/">demo-ada</a>' in held_page
    )
    assert "theirs is approved" in held_page
    assert "Shares an SSN with" in original_page
    assert (
        f'<a href="/onboarding/participants/{held.participant_id}/">user-123</a> '
        '<span class="muted small">(held: possible duplicate)</span>'
    ) in original_page


def test_the_release_form_asks_for_both(persona, pair):
    _, held = pair

    html = persona("compliance").get(f"/onboarding/participants/{held.participant_id}/")
    html = html.content.decode()

    assert 'name="reason"' in html
    assert "I have checked that this is a different person" in html
    assert 'value="release">Release and send</button>' in html
