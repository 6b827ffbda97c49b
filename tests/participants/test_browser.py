"""A compliance officer, in a real browser, takes a participant from intake to approval."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from participants.firms import firm_setup
from participants.models import KycSubmission
from tests.browser import requires_chromium
from tests.participants.conftest import wait_for_status

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), requires_chromium]


@pytest.fixture
def compliance_page(sso_page) -> Page:
    return sso_page("casey", "backoffice-compliance")


def test_intake_to_approval(compliance_page: Page, live_server, live_exchange, tmp_path):
    firm_setup(webhook_url=f"{live_server.url}/webhooks/polymarket/kyc/", actor=None)
    page = compliance_page

    page.goto(f"{live_server.url}/onboarding/")
    expect(page.get_by_role("heading", name="Onboarding queue")).to_be_visible()
    page.get_by_role("link", name="New participant").click()

    page.get_by_label("External id").fill("casey-001")
    page.get_by_label("First name").fill("Jane")
    page.get_by_label("Last name").fill("Doe")
    page.get_by_label("Date of birth").fill("1985-10-02")
    page.get_by_label("SSN").fill("123-45-6789")
    page.get_by_label("Email").fill("jane@example.com")
    page.get_by_label("Phone number").fill("+12125551234")
    page.get_by_label("Address line 1").fill("1 Main Street")
    page.get_by_label("City").fill("New York")
    page.get_by_label("State").select_option("NY")
    page.get_by_label("ZIP code").fill("1000")  # one digit short
    page.get_by_label("IP address").fill("198.51.100.7")
    page.get_by_label("The participant accepted the agreement").check()
    page.get_by_role("button", name="Submit to the exchange").click()

    expect(page.get_by_text("A ZIP code has five digits, 0-9.")).to_be_visible()
    assert not KycSubmission.objects.exists()
    page.get_by_label("ZIP code").fill("10001")
    page.get_by_role("button", name="Submit to the exchange").click()

    expect(page.get_by_role("heading", name=re.compile("Participant casey-001"))).to_be_visible()
    # The approval webhook may land before the page is drawn: either way the message says so.
    expect(page.get_by_text(re.compile(r"^Submitted to the exchange: Approved"))).to_be_visible()
    expect(page.get_by_text("•••-••-6789")).to_be_visible()

    submission = KycSubmission.objects.get()
    wait_for_status(live_exchange, submission, KycSubmission.Status.APPROVED)
    page.reload()
    expect(page.locator(".card .state-approved").first).to_have_text("Approved")
    expect(page.get_by_text("firms/ISV-Participant-Acme/users/casey-001")).to_be_visible()

    page.locator("#pii-ssn summary").click()
    page.locator("#reason-ssn").fill("Customer called to confirm identity")
    page.locator("#pii-ssn").get_by_role("button", name="Reveal").click()
    expect(page.locator("#pii-ssn .revealed")).to_have_text("123-45-6789")
    if os.environ.get("SCREENSHOTS"):
        page.screenshot(
            path=str(Path(os.environ["SCREENSHOTS"]) / "participant.png"), full_page=True
        )
