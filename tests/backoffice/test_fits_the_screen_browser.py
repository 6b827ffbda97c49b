"""Every main page, as the roles that open it see it, fits a 1024 px screen: no horizontal scroll,
whatever the tables it holds."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.backoffice.identity.test_role_matrix import world  # noqa: F401 (`world`, a fixture)
from tests.browser import requires_chromium
from tests.factories import BreakFactory, ReconciliationRunFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), requires_chromium]

PAGES = {
    "compliance": [
        "/",
        "/onboarding/",
        "/onboarding/participants/",
        "/onboarding/participants/{participant}/",
        "/audit/",
        "/trading/?view=orders",
        "/trading/?view=executions",
        "/reconciliation/",
        "/reconciliation/breaks/",
        "/reconciliation/breaks/{break}/",
    ],
    "support": ["/", "/gateway/health/", "/onboarding/participants/{participant}/"],
    "supervisor": [
        "/",
        "/funding/",
        "/funding/requests/{funding_request}/",
        "/funding/balance/",
        "/gateway/health/",
    ],
    "treasury": ["/", "/funding/new/", "/onboarding/participants/{participant}/"],
}


def overflow(page: Page) -> int:
    return int(page.evaluate("() => document.documentElement.scrollWidth - innerWidth"))


@pytest.mark.parametrize("role", list(PAGES))
def test_the_main_pages_fit_1024_px(sso_page, live_server, request, role):
    found = request.getfixturevalue("world")
    ids = {name: found[name].pk for name in ("participant", "break", "funding_request")}
    # Ids as long as years of nightly runs make them (the dashboard lists the last runs).
    run = ReconciliationRunFactory.create(pk=1_234_567)
    BreakFactory.create(first_run=run, last_run=run)
    page = sso_page(f"{role}-1", f"backoffice-{role}")
    page.set_viewport_size({"width": 1024, "height": 768})

    wide = {}
    for path in PAGES[role]:
        page.goto(live_server.url + path.format(**ids))
        assert page.locator("header.topbar").count() == 1, path
        if overflow(page) > 0:
            wide[path] = overflow(page)

    assert wide == {}
