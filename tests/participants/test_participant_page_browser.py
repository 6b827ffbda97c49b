"""The participant page down every decision path, in a real browser against the sandbox exchange:
at every step the state, the exchange's decision and the timeline agree, the exchange's raw codes
stay out of sight, and while a decision is pending the page updates itself when it arrives."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from participants.firms import firm_setup
from participants.forms import IntakeForm
from participants.models import KycSubmission
from participants.services import participant_intake
from participants.states import EXCHANGE_DECISIONS
from tests.browser import requires_chromium
from tests.factories import UserFactory
from tests.participants.conftest import intake_data, sandbox_admin, wait_for_status

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), requires_chromium]
S = KycSubmission.Status
# Words of the exchange's own vocabulary that must never be shown as if they were a state.
RAW_CODES = ("REVIEW", "ACCEPT", "REJECT", "KYC_STATUS", "ON_HOLD", "In Review", "Document Request")
LIVE = 15_000  # the page polls every 5 s; allow three polls


@pytest.fixture
def firm(live_exchange, live_server):
    return firm_setup(webhook_url=f"{live_server.url}/webhooks/polymarket/kyc/", actor=None)


@pytest.fixture
def page(sso_page) -> Page:
    return sso_page("casey", "backoffice-compliance")


def onboard(firm, **overrides) -> KycSubmission:
    form = IntakeForm(intake_data(**overrides))
    assert form.is_valid(), form.errors
    staff = UserFactory.create(username="onboarder", roles=["support"])
    return participant_intake(firm=firm, data=form.cleaned_data, actor=staff)


def open_page(page: Page, live_server, submission: KycSubmission) -> None:
    page.goto(f"{live_server.url}/onboarding/participants/{submission.participant_id}/")


def expect_one_story(page: Page, state: str, *, timeout: int = LIVE) -> None:
    """The state shown is `state`; the decision and the timeline say the same; no raw codes."""
    label = S(state).label
    expect(page.locator("#kyc-state")).to_have_text(label, timeout=timeout)
    expect(page.locator(".timeline li").last.locator(".state")).to_have_text(label)
    if state in EXCHANGE_DECISIONS:
        expect(page.locator("#exchange-decision > .state")).to_have_text(label)
    expect(page.locator(".next-step")).to_be_visible()
    shown = page.locator("main").inner_text()  # closed <details> contribute nothing
    for code in RAW_CODES:
        assert code not in shown, (state, code)


def test_instant_approval(page, live_server, live_exchange, firm):
    submission = onboard(firm)
    wait_for_status(live_exchange, submission, S.APPROVED)

    open_page(page, live_server, submission)

    expect_one_story(page, S.APPROVED, timeout=5_000)
    expect(page.locator(".next-step")).to_contain_text("nobody — Onboarded")
    expect(page.locator("#kyc-live")).to_have_count(0)
    for width in (1366, 1024):
        page.set_viewport_size({"width": width, "height": 900})
        if os.environ.get("SCREENSHOTS"):
            shot = Path(os.environ["SCREENSHOTS"]) / f"participant-{width}.png"
            page.screenshot(path=str(shot), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_rejection(page, live_server, firm):
    submission = onboard(firm, email="reject@example.com")

    open_page(page, live_server, submission)

    expect_one_story(page, S.REJECTED, timeout=5_000)
    expect(page.locator(".next-step")).to_contain_text("final")


@pytest.mark.parametrize(("decision", "final"), [("approve", S.APPROVED), ("reject", S.REJECTED)])
def test_manual_review_then_the_decision_arrives_on_the_open_page(
    page, live_server, live_exchange, firm, decision, final
):
    submission = onboard(firm, first_name="Paulina", last_name="Gizela")
    open_page(page, live_server, submission)
    expect_one_story(page, S.MANUAL_REVIEW, timeout=5_000)
    expect(page.locator(".next-step")).to_contain_text("the exchange — A person at the exchange")

    sandbox_admin(
        live_exchange,
        "kyc/review",
        {"firm_id": "Acme", "external_id": "user-123", "decision": decision},
    )
    wait_for_status(live_exchange, submission, final)

    expect_one_story(page, final)  # no reload by the test: the page noticed


@pytest.mark.parametrize(
    ("born", "final"), [("1985-09-02", S.APPROVED), ("1985-09-05", S.REJECTED)]
)
def test_document_check_then_the_decision(page, live_server, live_exchange, firm, born, final):
    submission = onboard(firm, date_of_birth=born, docv_eligible="on")
    open_page(page, live_server, submission)
    expect_one_story(page, S.DOCUMENT_CHECK, timeout=5_000)
    expect(page.locator(".next-step")).to_contain_text("the participant — ")

    sandbox_admin(
        live_exchange, "kyc/docv-complete", {"firm_id": "Acme", "external_id": "user-123"}
    )
    wait_for_status(live_exchange, submission, final)

    expect_one_story(page, final)
    expect(page.locator("#pii-docv_url")).to_have_count(0)  # the link died with the check


def test_document_check_then_manual_review_found_by_kyc_sync(
    page, live_server, live_exchange, firm
):
    submission = onboard(firm, date_of_birth="1985-09-25", docv_eligible="on")
    open_page(page, live_server, submission)
    expect_one_story(page, S.DOCUMENT_CHECK, timeout=5_000)

    sandbox_admin(
        live_exchange, "kyc/docv-complete", {"firm_id": "Acme", "external_id": "user-123"}
    )
    call_command("kyc_sync", stdout=io.StringIO())  # no webhook for a review: the poll finds it

    expect_one_story(page, S.MANUAL_REVIEW)
    expect(page.locator("#exchange-decision")).to_contain_text("status poll")


def test_releasing_a_held_duplicate_needs_a_reason_and_a_confirmation(
    page, live_server, live_exchange, firm
):
    original = onboard(firm, external_id="demo-ada")
    held = onboard(firm, external_id="demo-ada-twin", first_name="Ada", last_name="Lovelace")
    assert held.status == S.HELD_DUPLICATE
    open_page(page, live_server, held)
    expect_one_story(page, S.HELD_DUPLICATE, timeout=5_000)
    expect(page.locator(".next-step")).to_contain_text("compliance — Another participant")

    page.get_by_role("button", name="Release and send").click()  # no reason: the browser asks
    expect(page.locator("#kyc-state")).to_have_text(S.HELD_DUPLICATE.label)
    page.get_by_label("Reason for the decision").fill("Different date of birth; confirmed by phone")
    page.get_by_role("button", name="Release and send").click()  # not confirmed: refused
    expect(page.get_by_text("confirm that you checked this is a different person")).to_be_visible()
    held.refresh_from_db()
    assert held.status == S.HELD_DUPLICATE

    page.get_by_label("Reason for the decision").fill("Different date of birth; confirmed by phone")
    page.get_by_label("I have checked that this is a different person").check()
    page.get_by_role("button", name="Release and send").click()
    wait_for_status(live_exchange, held, S.APPROVED)
    expect_one_story(page, S.APPROVED)
    expect(page.locator(".timeline")).to_contain_text(
        "duplicate released: Different date of birth; confirmed by phone"
    )

    page.get_by_role("link", name="demo-ada", exact=True).click()
    expect(page.locator(".shared-ssn")).to_contain_text("demo-ada-twin (approved)")
    assert original.participant_id != held.participant_id
