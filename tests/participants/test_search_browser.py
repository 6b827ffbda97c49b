"""Support, in a real browser, finds people from the top bar by each key; the address never
holds the term; Back and Forward keep the results; the participants list pages in place."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from participants.models import Account
from tests.browser import requires_chromium
from tests.factories import FirmFactory, KycSubmissionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), requires_chromium]

TOKEN_URL = re.compile(r"/search/\?t=s-[A-Za-z0-9_-]{16}$")


@pytest.fixture
def people():
    firm = FirmFactory.create()
    ada = KycSubmissionFactory.create(
        participant__firm=firm,
        participant__external_id="demo-ada",
        participant__participant_id="firms/ISV-Participant-Acme/users/demo-ada",
        participant__status="active",
        first_name="Ada",
        last_name="Lovelace",
        ssn="100000001",
        email="ada@example.com",
        phone_number="+12125550101",
        status="approved",
    )
    Account.objects.create(
        participant=ada.participant, account_id="firms/ISV-Participant-Acme/accounts/AL-0001"
    )
    KycSubmissionFactory.create(
        participant__firm=firm,
        participant__external_id="demo-paulina",
        first_name="Paulina",
        last_name="Gizela",
        ssn="100000002",
        email="paulina@example.com",
        phone_number="+12125550102",
        status="manual_review",
    )


def search_for(page: Page, term: str) -> None:
    page.keyboard.press("/")
    expect(page.locator("#site-search")).to_be_focused()
    page.keyboard.type(term)
    page.keyboard.press("Enter")
    expect(page).to_have_url(TOKEN_URL)


@pytest.mark.parametrize(
    ("term", "found_by"),
    [
        ("DEMO-AD", "external id"),
        ("firms/isv-participant-acme/users/demo-a", "exchange id"),
        ("firms/ISV-Participant-Acme/accounts/al", "account id"),
        ("100-00-0001", "SSN"),
        ("ADA@example.com", "email"),
        ("(212) 555-0101", "phone"),
        ("lovelace, ada", "full name"),
    ],
)
def test_search_by_each_key(sso_page, live_server, people, term, found_by):
    page = sso_page("sam", "backoffice-support")
    page.goto(f"{live_server.url}/onboarding/")

    search_for(page, term)

    results = page.locator(".search-section tbody tr")
    expect(results).to_have_count(1)
    expect(results.first.get_by_role("link", name="demo-ada")).to_be_visible()
    expect(results.first.locator(".found-by")).to_have_text(f"by {found_by}")
    assert term.lower() not in page.url.lower()
    expect(page.locator("#site-search")).to_have_value(term)
    results.first.get_by_role("link", name="demo-ada").click()
    expect(page.get_by_role("heading", name=re.compile("Participant demo-ada"))).to_be_visible()
    page.go_back()
    expect(page).to_have_url(TOKEN_URL)
    expect(results).to_have_count(1)


def test_results_at_desktop_and_narrow_widths(sso_page, live_server, people):
    page = sso_page("casey", "backoffice-compliance")
    page.goto(f"{live_server.url}/")
    search_for(page, "demo")

    expect(page.locator(".search-section tbody tr")).to_have_count(2)
    for width in (1366, 1024):
        page.set_viewport_size({"width": width, "height": 800})
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        if os.environ.get("SCREENSHOTS"):
            page.screenshot(path=str(Path(os.environ["SCREENSHOTS"]) / f"search-{width}.png"))


def test_the_participants_list_keeps_history(sso_page, live_server, people):
    page = sso_page("sam", "backoffice-support")
    page.goto(f"{live_server.url}/onboarding/participants/")
    expect(page.locator("#participants-table tbody tr")).to_have_count(2)

    page.get_by_role("link", name="Active", exact=True).click()
    expect(page).to_have_url(re.compile(r"\?status=active$"))
    expect(page.locator("#participants-table tbody tr")).to_have_count(1)

    page.go_back()
    expect(page.get_by_role("heading", name="Participants", exact=True)).to_be_visible()
    expect(page.locator("nav.sidenav")).to_be_visible()
    expect(page.locator("#participants-table tbody tr")).to_have_count(2)
    page.go_forward()
    expect(page.locator("#participants-table tbody tr")).to_have_count(1)
    expect(page.get_by_role("link", name="Active", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    page.reload()
    expect(page.get_by_role("heading", name="Participants", exact=True)).to_be_visible()
