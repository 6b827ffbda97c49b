"""An examiner reads the audit trail at 1024 px: no horizontal scroll whatever the payloads, the
full value of a long one on demand, objects linked to their pages, the filtered export."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from backoffice.audit.models import AuditEvent
from tests.browser import requires_chromium
from tests.factories import KycSubmissionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), requires_chromium]


@pytest.mark.parametrize("width", [1024, 1366])
def test_the_trail_fits_the_screen(sso_page, live_server, width):
    submission = KycSubmissionFactory.create()
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                actor_label="command:kyc_sync_with_a_rather_long_origin_name",
                action="participants.kyc.status_changed_by_a_very_long_action_code",
                object_type="participants.kycsubmission",
                object_id=str(submission.pk),
                payload={
                    "reason": "Customer called to confirm identity; " * 8,
                    "path": "/onboarding/" + "x" * 120,
                    "from": "manual_review",
                },
                client_ip="2001:db8:85a3:0000:0000:8a2e:0370:7334",
                request_id="f" * 64,
            )
            for _ in range(60)
        ]
    )
    page = sso_page("casey", "backoffice-compliance")
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_server.url}/audit/")

    expect(page.locator("#results tbody tr").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.get_by_role("link", name="Older events →").click()  # page 2 was once the widest
    expect(page.get_by_role("link", name="← Newer events")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.evaluate("document.querySelector('#results table').scrollWidth") <= width
    page.get_by_role("link", name="← Newer events").click()
    expect(page.get_by_role("link", name="Older events →")).to_be_visible()
    if os.environ.get("SCREENSHOTS"):
        shot = Path(os.environ["SCREENSHOTS"]) / f"audit-{width}.png"
        page.screenshot(path=str(shot), clip={"x": 0, "y": 0, "width": width, "height": 900})

    first = page.locator("#results tbody tr", has_text="full reason").first
    first.get_by_text("full reason").click()
    # The payload's keys come in the database's order (PostgreSQL's jsonb sorts them), so the
    # reason's full value is found by its text, not by its place.
    reason = first.locator(".full-value code", has_text="Customer called to confirm identity")
    expect(reason.first).to_contain_text("Customer called to confirm identity; " * 3)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    first.get_by_role("link", name=f"KYC submission #{submission.pk}").click()
    expect(page).to_have_url(
        f"{live_server.url}/onboarding/participants/{submission.participant_id}/"
    )


def test_a_bad_date_range_shows_no_rows(sso_page, live_server):
    AuditEvent.objects.create(actor_label="system", action="participants.kyc.created")
    page = sso_page("casey", "backoffice-compliance")
    page.goto(f"{live_server.url}/audit/")

    page.get_by_label("From", exact=True).fill("2026-05-02")
    page.get_by_label("To", exact=True).fill("2026-05-01")
    page.get_by_role("button", name="Filter").click()

    expect(page.get_by_text("The end date is before the start date.")).to_be_visible()
    expect(page.get_by_text("No events are shown: correct the filters above.")).to_be_visible()
    expect(page.locator("#results table")).to_have_count(0)
