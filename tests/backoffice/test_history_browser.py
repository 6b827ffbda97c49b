"""Back, Forward and reload on every list that htmx updates in place: the whole page comes back
(top bar, menu, heading, filters) with the results of the URL, never a bare results table."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from backoffice.audit.models import AuditEvent
from backoffice.gateway.models import GatewayCall
from tests.backoffice.gateway.test_health_page import call
from tests.browser import requires_chromium
from tests.factories import (
    AccountFactory,
    BreakFactory,
    FirmFactory,
    FundingRequestFactory,
    KycSubmissionFactory,
    ReconciliationRunFactory,
)
from tests.trading.rows import orders

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), requires_chromium]


def expect_whole_page(page: Page, heading: str) -> None:
    expect(page.locator("header.topbar")).to_be_visible()
    expect(page.locator("nav.sidenav")).to_be_visible()
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()


def test_the_audit_trail(sso_page, live_server):
    AuditEvent.objects.bulk_create(
        AuditEvent(actor_label="system", action="participants.kyc.submitted") for _ in range(60)
    )
    page = sso_page("casey", "backoffice-compliance")
    page.goto(f"{live_server.url}/audit/")

    page.get_by_role("link", name="Older events →").click()
    expect(page).to_have_url(re.compile(r"/audit/\?after=\d+$"))
    expect(page.get_by_role("link", name="← Newer events")).to_be_visible()

    page.go_back()
    expect(page).to_have_url(f"{live_server.url}/audit/")
    expect_whole_page(page, "Audit trail")
    expect(page.get_by_label("Action")).to_be_visible()
    expect(page.get_by_role("link", name="← Newer events")).to_have_count(0)
    expect(page.locator("#results")).to_have_count(1)

    page.go_forward()
    expect(page).to_have_url(re.compile(r"/audit/\?after=\d+$"))
    expect_whole_page(page, "Audit trail")
    expect(page.get_by_role("link", name="← Newer events")).to_be_visible()

    page.get_by_label("Action").fill("identity")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"action=identity"))
    expect(page.locator("#results code", has_text="participants.kyc.submitted")).to_have_count(0)
    page.go_back()
    expect_whole_page(page, "Audit trail")
    expect(
        page.locator("#results code", has_text="participants.kyc.submitted").first
    ).to_be_visible()
    page.go_forward()
    expect(page).to_have_url(re.compile(r"action=identity"))
    expect(page.get_by_label("Action")).to_have_value("identity")

    # Leave for another page, then come back to a URL htmx pushed: the browser must not reuse
    # the partial it fetched for that URL.
    page.reload()
    expect_whole_page(page, "Audit trail")
    page.get_by_role("link", name="Home").click()
    expect(page.get_by_role("heading", name=re.compile("Good to see you"))).to_be_visible()
    page.go_back()
    expect(page).to_have_url(re.compile(r"action=identity"))
    expect_whole_page(page, "Audit trail")


def test_the_onboarding_queue(sso_page, live_server):
    firm = FirmFactory.create()
    KycSubmissionFactory.create_batch(55, participant__firm=firm, status="manual_review")
    page = sso_page("sam", "backoffice-support")
    page.goto(f"{live_server.url}/onboarding/")

    page.get_by_role("link", name="Next page →").click()
    expect(page).to_have_url(re.compile(r"/onboarding/\?after=\d+$"))
    expect(page.locator("#queue-table tbody tr")).to_have_count(5)
    expect(page.get_by_role("link", name="← Previous page")).to_be_visible()

    page.go_back()
    expect_whole_page(page, "Onboarding queue")
    expect(page.locator("#queue-table tbody tr")).to_have_count(50)
    expect(page.get_by_label("Assignee", exact=True)).to_be_visible()

    page.go_forward()
    expect_whole_page(page, "Onboarding queue")
    expect(page.locator("#queue-table tbody tr")).to_have_count(5)

    page.get_by_role("link", name="← Previous page").click()
    expect(page).to_have_url(re.compile(r"before=\d+$"))
    expect(page.locator("#queue-table tbody tr")).to_have_count(50)
    expect(page.get_by_role("link", name="← Previous page")).to_have_count(0)

    page.get_by_label("Assignee", exact=True).select_option("none")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"assignee=none"))
    page.go_back()
    expect_whole_page(page, "Onboarding queue")
    page.go_forward()
    expect(page.get_by_label("Assignee", exact=True)).to_have_value("none")
    page.reload()
    expect_whole_page(page, "Onboarding queue")


def test_exchange_health_windows(sso_page, live_server):
    GatewayCall.objects.bulk_create([call(m, latency=30) for m in range(0, 120, 10)])
    page = sso_page("sam", "backoffice-support")
    page.goto(f"{live_server.url}/gateway/health/")

    page.get_by_role("link", name="Last hour").click()
    expect(page).to_have_url(re.compile(r"window=1h$"))
    page.get_by_role("link", name="Last 7 days").click()
    expect(page).to_have_url(re.compile(r"window=7d$"))

    page.go_back()
    expect(page).to_have_url(re.compile(r"window=1h$"))
    expect_whole_page(page, "Exchange health")
    expect(page.get_by_role("link", name="Last hour")).to_have_attribute("aria-current", "page")
    expect(page.locator("#report")).to_have_count(1)
    page.go_back()
    expect(page).to_have_url(f"{live_server.url}/gateway/health/")
    expect_whole_page(page, "Exchange health")
    page.go_forward()
    expect(page.get_by_role("link", name="Last hour")).to_have_attribute("aria-current", "page")
    expect_whole_page(page, "Exchange health")


def back_and_forward(page: Page, heading: str, rows: str, *, older: str, newer: str) -> None:
    """Page 2 and back, by the pager and by the browser: the whole page each time."""
    page.get_by_role("link", name=f"{older} →").click()
    expect(page).to_have_url(re.compile(r"after=\d+"))
    expect(page.locator(rows)).to_have_count(5)
    expect(page.get_by_role("link", name=f"← {newer}")).to_be_visible()

    page.go_back()
    expect_whole_page(page, heading)
    expect(page.locator(rows)).to_have_count(50)
    expect(page.get_by_role("link", name=f"← {newer}")).to_have_count(0)
    page.go_forward()
    expect_whole_page(page, heading)
    expect(page.locator(rows)).to_have_count(5)
    page.reload()
    expect_whole_page(page, heading)
    expect(page.locator(rows)).to_have_count(5)


def test_the_funding_queue(sso_page, live_server):
    account = AccountFactory.create()
    FundingRequestFactory.create_batch(55, account=account, status="awaiting_approval")
    page = sso_page("tess", "backoffice-treasury")
    page.goto(f"{live_server.url}/funding/")

    back_and_forward(
        page, "Funding requests", "#funding-table tbody tr", older="Next", newer="Previous"
    )

    page.get_by_role("link", name=re.compile("^In flight")).click()
    expect(page).to_have_url(re.compile(r"\?view=flight$"))
    expect(page.locator("#funding-table tbody tr", has_text="Awaiting")).to_have_count(0)
    page.go_back()
    expect_whole_page(page, "Funding requests")
    expect(page.locator("#funding-table tbody tr")).to_have_count(5)
    page.go_forward()
    expect_whole_page(page, "Funding requests")
    expect(page.get_by_role("link", name=re.compile("^In flight"))).to_have_attribute(
        "aria-current", "page"
    )


def test_the_trading_blotter(sso_page, live_server):
    orders(55, account=AccountFactory.create().account_id)
    page = sso_page("casey", "backoffice-compliance")
    page.goto(f"{live_server.url}/trading/?view=orders")

    back_and_forward(page, "Trading", "#rows tbody tr", older="Older", newer="Newer")

    page.get_by_label("Side").select_option("BUY")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"side=BUY"))
    page.go_back()
    expect_whole_page(page, "Trading")
    expect(page.locator("#rows tbody tr")).to_have_count(5)
    page.go_forward()
    expect_whole_page(page, "Trading")
    expect(page.get_by_label("Side")).to_have_value("BUY")


def test_the_breaks(sso_page, live_server):
    BreakFactory.create_batch(55, first_run=ReconciliationRunFactory.create())
    page = sso_page("tess", "backoffice-treasury")
    page.goto(f"{live_server.url}/reconciliation/breaks/")

    back_and_forward(
        page, "Breaks", "#results tbody tr", older="Older breaks", newer="Newer breaks"
    )

    page.get_by_label("Status").select_option("resolved")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"status=resolved"))
    expect(page.locator("#results tbody tr")).to_have_count(1)  # "no breaks" row
    page.go_back()
    expect_whole_page(page, "Breaks")
    expect(page.locator("#results tbody tr")).to_have_count(5)
    page.go_forward()
    expect_whole_page(page, "Breaks")
    expect(page.get_by_label("Status")).to_have_value("resolved")
