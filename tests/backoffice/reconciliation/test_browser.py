"""Treasury, in a real browser: from the dashboard to a break, assigned, commented on and
resolved, under the strict Content-Security-Policy."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import Page, expect

from backoffice.reconciliation.models import Break
from tests.browser import requires_chromium
from tests.factories import BreakFactory, ReconciliationRunFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), requires_chromium]


@pytest.fixture
def treasury_page(sso_page) -> Page:
    return sso_page("tess", "backoffice-treasury")


def test_a_break_walked_from_the_dashboard_to_its_resolution(treasury_page, live_server):
    run = ReconciliationRunFactory.create(open_by_type={"amount_mismatch": 1})
    item = BreakFactory.create(
        first_run=run,
        last_run=run,
        summary="Cash: the exchange holds 90.00, our records 100.00",
        evidence={"ledger_entry": "le_42"},
    )
    problems: list[str] = []
    treasury_page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page = treasury_page

    page.goto(f"{live_server.url}/reconciliation/")
    expect(page.locator("svg.chart rect").first).to_be_visible()
    page.get_by_role("link", name="1 open").click()
    expect(page).to_have_url(f"{live_server.url}/reconciliation/breaks/")
    page.get_by_role("link", name=f"#{item.pk}").click()
    expect(page.get_by_role("heading", name=f"Break #{item.pk}: Amount mismatch")).to_be_visible()
    expect(page.get_by_text("le_42")).to_be_visible()

    page.get_by_label("Assignee").select_option(label="tess")
    page.get_by_role("button", name="Assign").click()
    expect(page.get_by_text("Assigned to tess.").first).to_be_visible()
    page.get_by_label("Comment").fill("The exchange posted a manual adjustment.")
    page.get_by_role("button", name="Add comment").click()
    expect(page.get_by_text("The exchange posted a manual adjustment.")).to_be_visible()
    page.get_by_label("Why it is resolved").select_option(label="Corrected by the exchange")
    page.get_by_label("Note").fill("Reversed by the exchange on request.")
    page.get_by_role("button", name="Resolve").click()

    expect(page.get_by_text(f"Break #{item.pk} resolved.")).to_be_visible()
    if os.environ.get("RECONCILIATION_SCREENSHOT"):
        page.screenshot(path=os.environ["RECONCILIATION_SCREENSHOT"], full_page=True)
    item.refresh_from_db()
    assert (item.status, item.resolution, item.assignee_id) == (
        "resolved",
        "corrected_at_exchange",
        item.resolved_by_id,
    )
    assert list(item.events.values_list("kind", flat=True)) == ["assigned", "comment", "resolved"]
    assert Break.objects.filter(status="open").count() == 0
    assert problems == []
