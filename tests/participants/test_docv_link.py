"""The document-check link the exchange gives is for staff to hand to the participant: whoever
works the case sees it in clear at a click, each showing audited; nobody else, and never before
the click or once the check is over."""

from __future__ import annotations

import pytest

from backoffice.audit.models import AuditEvent
from participants.models import KycStatusChange
from tests.factories import KycSubmissionFactory

LINK = "https://verify.example/docv/abc123"


@pytest.fixture
def submission(db, firm):
    submission = KycSubmissionFactory.create(
        participant__firm=firm, status="document_check", docv_url=LINK, docv_token="dt_1"
    )
    KycStatusChange.objects.create(
        submission=submission, to_status="document_check", actor_label="exchange", source="poll"
    )
    return submission


def page(client, submission) -> str:
    response = client.get(f"/onboarding/participants/{submission.participant_id}/")
    assert response.status_code == 200
    return response.content.decode()


def show(client, submission):
    return client.post(
        f"/onboarding/submissions/{submission.pk}/docv-link/", HTTP_HX_REQUEST="true"
    )


@pytest.mark.parametrize("role", ["support", "compliance", "supervisor", "superuser"])
def test_whoever_works_the_case_is_shown_the_link_at_a_click_and_it_is_audited(
    persona, submission, role
):
    client = persona(role)
    html = page(client, submission)
    assert "Show the link to hand over" in html
    assert LINK not in html

    response = show(client, submission)

    assert response.status_code == 200
    assert f'href="{LINK}"' in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.get(action="participants.kyc.docv_link_shown")
    assert event.actor_label == f"{role}-persona"
    assert event.object_id == str(submission.pk)
    assert LINK not in str(event.payload)


def test_treasury_is_offered_nothing_and_refused(persona, submission):
    client = persona("treasury")

    assert "Show the link" not in page(client, submission)
    response = show(client, submission)
    assert response.status_code == 403
    assert LINK not in response.content.decode()
    assert not AuditEvent.objects.filter(action="participants.kyc.docv_link_shown").exists()


def test_once_the_check_is_over_there_is_no_link_to_show(persona, submission):
    submission.status = "manual_review"
    submission.save()
    client = persona("support")

    assert "Show the link" not in page(client, submission)
    response = show(client, submission)
    assert "There is no document check under way" in response.content.decode()
    assert LINK not in response.content.decode()
    assert not AuditEvent.objects.filter(action="participants.kyc.docv_link_shown").exists()


def test_the_link_is_no_longer_a_personal_field_to_reveal(persona, submission):
    response = persona("compliance").post(
        f"/onboarding/submissions/{submission.pk}/reveal/docv_url/",
        {"reason": "Checking the link for the customer"},
    )

    assert LINK not in response.content.decode()
    assert not AuditEvent.objects.filter(action="participants.pii.revealed").exists()
