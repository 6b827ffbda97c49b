"""The onboarding admin shows identifiers and masks, never personal data."""

from __future__ import annotations

from tests.factories import KycSubmissionFactory


def test_submissions_in_the_admin_are_masked(persona, firm):
    submission = KycSubmissionFactory.create(participant__firm=firm, ssn="123456789")
    admin = persona("superuser")

    listing = admin.get("/admin/participants/kycsubmission/").content.decode()
    detail = admin.get(
        f"/admin/participants/kycsubmission/{submission.pk}/change/"
    ).content.decode()

    for html in (listing, detail):
        assert "•••-••-6789" in html
        for plain in ("123456789", "Jane", "jane.doe@example.com", "+12125551234", "Main Street"):
            assert plain not in html


def test_evidence_cannot_be_edited_or_deleted_in_the_admin(persona, firm):
    submission = KycSubmissionFactory.create(participant__firm=firm)
    admin = persona("superuser")

    response = admin.post(
        f"/admin/participants/kycsubmission/{submission.pk}/change/", {"status": "approved"}
    )
    deleted = admin.post(
        f"/admin/participants/kycsubmission/{submission.pk}/delete/", {"post": "yes"}
    )

    assert response.status_code == 403
    assert deleted.status_code == 403
    submission.refresh_from_db()
    assert submission.status == "pending"
