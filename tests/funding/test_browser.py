"""A maker and a checker, in a real browser against the sandbox exchange: a deposit confirmed,
then a withdrawal refused for want of free cash, with the figures on the screen."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from funding.models import FundingRequest
from tests.browser import requires_chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), requires_chromium]


def make_request(
    page: Page, base: str, account: str, direction: str, amount: str, ref: str
) -> None:
    page.goto(f"{base}/funding/")
    page.get_by_role("link", name="New deposit or withdrawal").click()
    page.get_by_label("Participant account").fill(account)
    page.get_by_label("Participant account").blur()
    expect(page.locator("#free-cash")).to_contain_text("Free cash")
    page.get_by_label(direction).check()
    page.get_by_label("Amount (USD)").fill(amount)
    page.get_by_label("Wallet reference").fill(ref)
    page.get_by_role("button", name="Send for approval").click()
    expect(
        page.get_by_text("Waiting for a checker: anyone in treasury but mia may approve it.")
    ).to_be_visible()


def approve(page: Page, base: str, number: int) -> None:
    page.goto(f"{base}/funding/")
    page.get_by_role("link", name=re.compile(r"Awaiting my approval")).click()
    page.get_by_role("link", name=f"#{number}", exact=True).click()
    page.get_by_role("link", name="Approve…").click()
    page.get_by_role("button", name="Approve and send").click()


def test_a_deposit_confirmed_and_a_withdrawal_refused(sso_page, live_server, live):
    maker = sso_page("mia", "backoffice-treasury")
    checker = sso_page("carl", "backoffice-treasury")
    account = live.account.participant.external_id

    make_request(maker, live_server.url, account, "Deposit", "250.00", "wallet-1001")
    expect(maker.get_by_role("link", name="Approve…")).to_have_count(0)
    expect(
        maker.get_by_text("You requested this movement, so another person must approve it.")
    ).to_be_visible()
    deposit = FundingRequest.objects.get(external_reference="wallet-1001")

    approve(checker, live_server.url, deposit.pk)

    expect(checker.get_by_text("You approved it.")).to_be_visible()
    expect(
        checker.get_by_text(re.compile(r"^Confirmed by the exchange: \$250\.00 deposited to"))
    ).to_be_visible()
    expect(checker.locator(".page-head .state")).to_have_text("Confirmed")
    assert len(live.movements(deposit)) == 1

    make_request(maker, live_server.url, account, "Withdrawal", "5000.00", "wallet-1002")
    withdrawal = FundingRequest.objects.get(external_reference="wallet-1002")

    approve(checker, live_server.url, withdrawal.pk)

    expect(
        checker.get_by_text(
            "Not approved: the withdrawal of $5,000.00 is more than the participant's free cash "
            "$250.00 (balance $250.00, open orders $0.00, buying power $250.00)."
        )
    ).to_be_visible()
    expect(checker.locator(".page-head .state")).to_have_text("Awaiting approval")
    assert live.movements(withdrawal) == []
    if os.environ.get("SCREENSHOTS"):
        shots = Path(os.environ["SCREENSHOTS"])
        checker.screenshot(path=str(shots / "funding-refused.png"), full_page=True)
        checker.goto(f"{live_server.url}/funding/requests/{deposit.pk}/")
        checker.screenshot(path=str(shots / "funding-request.png"), full_page=True)
        checker.goto(f"{live_server.url}/funding/")
        checker.screenshot(path=str(shots / "funding-queue.png"), full_page=True)
        maker.goto(f"{live_server.url}/funding/new/?participant={live.account.participant_id}")
        expect(maker.locator("#free-cash")).to_contain_text("Free cash")
        maker.screenshot(path=str(shots / "funding-form.png"), full_page=True)
