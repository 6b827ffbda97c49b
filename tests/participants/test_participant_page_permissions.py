"""The participant page shows each part only to a role whose permissions cover it: KYC detail and
notes need their own permissions, which treasury does not hold."""

from __future__ import annotations

import pytest

from participants.models import Account, KycNote, KycStatusChange
from tests.factories import KycSubmissionFactory


@pytest.fixture
def submission(db, firm):
    submission = KycSubmissionFactory.create(
        participant__firm=firm, ssn="123456789", status="manual_review"
    )
    KycStatusChange.objects.create(
        submission=submission, to_status="manual_review", actor_label="exchange", source="poll"
    )
    KycNote.objects.create(
        submission=submission, author=submission.submitted_by, text="Called the customer."
    )
    Account.objects.create(participant=submission.participant, account_id="firms/x/accounts/7")
    return submission


def page(client, submission) -> str:
    response = client.get(f"/onboarding/participants/{submission.participant_id}/")
    assert response.status_code == 200
    return response.content.decode()


KYC_DETAIL = ["Identity", "•••-••-6789", "Manual review", "Timeline", "Exchange decision"]


def test_treasury_sees_the_participant_and_accounts_but_no_kyc_detail_or_notes(persona, submission):
    html = page(persona("treasury"), submission)

    assert submission.participant.external_id in html
    assert "firms/x/accounts/7" in html
    for kyc in KYC_DETAIL:
        assert kyc not in html
    assert "Notes" not in html
    assert "Called the customer." not in html


@pytest.mark.parametrize("role", ["compliance", "support", "supervisor", "superuser"])
def test_roles_with_kyc_permissions_see_the_detail_and_the_notes(persona, submission, role):
    html = page(persona(role), submission)

    for kyc in KYC_DETAIL:
        assert kyc in html
    assert "Called the customer." in html
    assert "firms/x/accounts/7" in html


def test_treasury_is_refused_every_onboarding_action(persona, submission):
    treasury = persona("treasury")

    for url in (
        "/onboarding/",
        "/onboarding/export.csv",
        f"/onboarding/submissions/{submission.pk}/notes/",
    ):
        method = treasury.post if url.endswith("notes/") else treasury.get
        assert method(url, {"text": "x"} if url.endswith("notes/") else None).status_code == 403
    assert list(KycNote.objects.values_list("text", flat=True)) == ["Called the customer."]
