"""Support, in a real browser: from the search box to a participant, to an open order on the
participant's trading panel, to its cancel with a reason; the exchange's answer on the page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from backoffice.gateway import client as gateway_client
from backoffice.gateway.auth import TokenManager
from backoffice.gateway.client import Gateway
from backoffice.gateway.ratelimit import RateLimiter
from backoffice.gateway.recording import MemoryRecorder
from participants.models import Account
from tests.backoffice.gateway.fakes import FakeExchange, Reply, make_settings
from tests.browser import requires_chromium
from tests.factories import FirmFactory, KycSubmissionFactory
from tests.trading.rows import orders
from tests.trading.test_cancel import CANCEL, KEY
from trading.models import OrderCancel

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), requires_chromium]
ACCOUNT = "firms/ISV-Participant-Acme/accounts/AL-0001"


def test_support_finds_a_participant_and_cancels_an_open_order(sso_page, live_server, monkeypatch):
    fake = FakeExchange([KEY])
    fake.on("POST", CANCEL, Reply(body={}))
    config = make_settings([KEY])
    monkeypatch.setattr(
        gateway_client,
        "_default",
        Gateway(
            settings=config,
            transport=fake,
            tokens=TokenManager(config, fake),
            limiter=RateLimiter(enabled=False),
            recorder=MemoryRecorder(),
        ),
    )
    ada = KycSubmissionFactory.create(
        participant__firm=FirmFactory.create(),
        participant__external_id="demo-ada",
        participant__participant_id="firms/ISV-Participant-Acme/users/demo-ada",
        participant__status="active",
        status="approved",
    )
    Account.objects.create(participant=ada.participant, account_id=ACCOUNT)
    (order,) = orders(1, account=ACCOUNT)

    page = sso_page("sam", "backoffice-support")
    page.goto(f"{live_server.url}/")
    page.keyboard.press("/")
    page.keyboard.type("demo-ada")
    page.keyboard.press("Enter")
    page.get_by_role("link", name="demo-ada").click()
    expect(page.get_by_role("heading", name="Open orders")).to_be_visible()
    page.get_by_role("link", name=order.exchange_id).click()
    expect(page).to_have_url(re.compile(rf"/trading/orders/{order.exchange_id}/$"))

    page.get_by_role("button", name="Cancel order").click()  # no reason: the browser refuses
    assert OrderCancel.objects.count() == 0
    page.get_by_label("Reason").fill("The participant asked by phone")
    page.get_by_role("button", name="Cancel order").click()
    expect(page.locator(".message-success")).to_contain_text("The exchange accepted the cancel")
    expect(page.locator(".timeline")).to_contain_text("The participant asked by phone")
    cancel = OrderCancel.objects.get()
    assert (cancel.status, cancel.requested_by.username) == ("requested", "sam")
    assert [r.json for r in fake.api_requests() if r.url.endswith(CANCEL)] == [
        {"orderId": order.exchange_id, "symbol": order.symbol}
    ]
