"""Support, in a real browser: the exchange-health charts render under the strict CSP, and the
time-window links swap the report in place."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import Page, expect

from backoffice.gateway.models import GatewayCall
from tests.backoffice.gateway.test_health_page import call
from tests.browser import requires_chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), requires_chromium]


@pytest.fixture
def support_page(sso_page) -> Page:
    return sso_page("sam", "backoffice-support")


def test_the_charts_render_without_breaking_the_content_security_policy(support_page, live_server):
    GatewayCall.objects.bulk_create(
        [call(m, latency=20 + m) for m in range(0, 300, 10)]  # five hours: a line, not a point
        + [call(m, latency=900, outcome="Unavailable") for m in range(1, 30, 7)]
    )
    problems: list[str] = []
    support_page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )

    support_page.goto(f"{live_server.url}/gateway/health/")

    expect(support_page.locator("svg.chart")).to_have_count(2)
    expect(support_page.locator("svg.chart rect").first).to_be_visible()
    expect(support_page.locator("svg.chart polyline").first).to_be_visible()
    expect(support_page.locator("svg.chart circle").first).to_be_visible()
    if os.environ.get("GATEWAY_SCREENSHOT"):
        support_page.screenshot(path=os.environ["GATEWAY_SCREENSHOT"], full_page=True)
    support_page.get_by_role("link", name="Last hour").click()
    expect(support_page).to_have_url(f"{live_server.url}/gateway/health/?window=1h")
    expect(support_page.get_by_role("link", name="Last hour")).to_have_attribute(
        "aria-current", "page"
    )
    assert problems == []
