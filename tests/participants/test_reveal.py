"""Masked by default; compliance reveals one field at a time with a reason, and it is audited."""

from __future__ import annotations

import pytest

from backoffice.audit.models import AuditEvent
from participants.services import OnboardingError, kyc_pii_reveal
from tests.factories import KycSubmissionFactory


@pytest.fixture
def submission(db, firm):
    return KycSubmissionFactory.create(
        participant__firm=firm, ssn="123456789", status="manual_review"
    )


def page(client, submission) -> str:
    return client.get(f"/onboarding/participants/{submission.participant_id}/").content.decode()


@pytest.mark.parametrize("role", ["compliance", "support", "supervisor"])
def test_the_page_shows_personal_data_masked_to_everyone(persona, submission, role):
    html = page(persona(role), submission)

    assert "•••-••-6789" in html
    for plain in (
        "123456789",
        "123-45-6789",
        "Jane",
        "Doe",
        "jane.doe@example.com",
        "1985-10-02",
        "Main Street",
        "198.51.100.7",
    ):
        assert plain not in html


def test_only_compliance_sees_reveal_controls(persona, submission):
    assert "Reveal" in page(persona("compliance"), submission)
    assert "Reveal</button>" not in page(persona("support"), submission)


def test_compliance_reveals_a_field_with_a_reason_and_it_is_audited(persona, submission):
    client = persona("compliance")

    response = client.post(
        f"/onboarding/submissions/{submission.pk}/reveal/ssn/",
        {"reason": "Checking the SSN against the customer's call"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    # As people write it: the dashes it was stored without are put back.
    assert '<span class="revealed">123-45-6789</span>' in response.content.decode()
    event = AuditEvent.objects.get(action="participants.pii.revealed")
    assert event.actor_label == "compliance-persona"
    assert event.payload == {
        "field": "ssn",
        "reason": "Checking the SSN against the customer's call",
    }
    assert event.object_id == str(submission.pk)


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("name", "Jane Doe"),
        ("date_of_birth", "1985-10-02"),
        ("address", "1 Main Street, New York, NY 10001"),
    ],
)
def test_composite_fields_reveal_whole(persona, submission, field, expected):
    response = persona("compliance").post(
        f"/onboarding/submissions/{submission.pk}/reveal/{field}/",
        {"reason": "Address verification call"},
    )

    assert f'<span class="revealed">{expected}</span>' in response.content.decode()


def test_a_reveal_without_a_good_reason_shows_nothing_and_records_nothing(persona, submission):
    response = persona("compliance").post(
        f"/onboarding/submissions/{submission.pk}/reveal/ssn/", {"reason": "why"}
    )

    html = response.content.decode()
    assert "123456789" not in html
    assert "123-45-6789" not in html
    assert "Ensure this value has at least 10 characters" in html
    assert not AuditEvent.objects.filter(action="participants.pii.revealed").exists()


@pytest.mark.parametrize("role", ["support", "supervisor", "treasury", "superuser"])
def test_other_roles_cannot_reveal_and_the_refusal_is_audited(persona, submission, role):
    response = persona(role).post(
        f"/onboarding/submissions/{submission.pk}/reveal/ssn/",
        {"reason": "I would like to see it please"},
    )

    assert response.status_code == 403
    assert "Only compliance may reveal personal data." in response.content.decode()
    assert "123456789" not in response.content.decode()
    assert "123-45-6789" not in response.content.decode()
    assert not AuditEvent.objects.filter(action="participants.pii.revealed").exists()
    refusal = AuditEvent.objects.get(action="identity.access.refused")
    assert refusal.actor_label == f"{role}-persona"


def test_a_superuser_sees_no_reveal_control_and_the_service_refuses_them_too(
    persona, submission, make_user
):
    assert "Reveal</button>" not in page(persona("superuser"), submission)
    with pytest.raises(OnboardingError, match="Only compliance"):
        kyc_pii_reveal(
            submission=submission,
            field="ssn",
            reason="An administrator having a look",
            actor=make_user("root", "superuser"),
        )


def test_an_administrator_given_the_compliance_role_may_reveal(make_user, submission):
    admin = make_user("root", "superuser", "compliance")

    value = kyc_pii_reveal(
        submission=submission, field="ssn", reason="Covering for compliance today", actor=admin
    )

    assert value == "123-45-6789"


def test_a_revealed_value_is_never_stored_by_a_cache(persona, submission):
    response = persona("compliance").post(
        f"/onboarding/submissions/{submission.pk}/reveal/ssn/",
        {"reason": "Checking the SSN against the customer's call"},
    )

    # As people write it: the dashes it was stored without are put back.
    assert '<span class="revealed">123-45-6789</span>' in response.content.decode()
    assert "no-store" in response["Cache-Control"].split(", ")
    assert "private" in response["Cache-Control"].split(", ")


def test_an_unknown_field_is_refused(persona, submission):
    response = persona("compliance").post(
        f"/onboarding/submissions/{submission.pk}/reveal/ssn_hash/",
        {"reason": "Looking at the hash value"},
    )

    assert "Unknown field" in response.content.decode()
    assert not AuditEvent.objects.filter(action="participants.pii.revealed").exists()
