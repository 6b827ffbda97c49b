"""A form that writes shows it is busy from the click to the answer, in a real browser: its button
disabled and marked, a second click sending nothing, and the pressed button's value still sent.
The answer is held back (Playwright holds the request) until the busy state has been seen."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
from playwright.sync_api import Page, Route, expect

from participants.models import KycNote, KycStatusChange, KycSubmission
from tests.browser import requires_chromium
from tests.factories import FirmFactory, KycSubmissionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), requires_chromium]


@pytest.fixture
def submission() -> KycSubmission:
    submission = KycSubmissionFactory.create(
        participant__firm=FirmFactory.create(), status="manual_review", ssn="123456789"
    )
    KycStatusChange.objects.create(
        submission=submission, to_status="manual_review", actor_label="exchange", source="poll"
    )
    return submission


# Watches `selector`'s button from inside the page (a locator would wait for the held navigation):
# once it is disabled and marked in a form that says it is busy, submits the form again, which
# must send nothing, and says "busy" on the console.
WATCH = """selector => {
  const button = document.querySelector(selector);
  new MutationObserver((_, observer) => {
    if (button.disabled && button.classList.contains("is-busy")
        && button.form.getAttribute("aria-busy") === "true") {
      observer.disconnect();
      button.form.requestSubmit();
      console.log("busy");
    }
  }).observe(button, {attributes: true});
}"""


def held(page: Page, path: str) -> list[Route]:
    """The POSTs to `path`, held until the test lets each go on."""
    routes: list[Route] = []
    page.route(
        f"**{path}",
        lambda route: routes.append(route) if route.request.method == "POST" else route.continue_(),
    )
    return routes


def arrived(page: Page, routes: list[Route]) -> list[Route]:
    """`routes` once the held request has reached the test (Playwright hands it over between
    calls; this lets it run until then, ten seconds at most)."""
    for _ in range(500):
        if routes:
            return routes
        page.wait_for_timeout(20)
    raise AssertionError("the form sent nothing")


def open_page(page: Page, live_server, submission: KycSubmission) -> None:
    page.goto(f"{live_server.url}/onboarding/participants/{submission.participant_id}/")


def test_a_plain_form_is_busy_until_its_answer_and_sends_its_button_once(
    sso_page, live_server, submission
):
    page = sso_page("casey", "backoffice-compliance")
    open_page(page, live_server, submission)
    routes = held(page, "/onboarding/assign/")
    button = page.get_by_role("button", name="Assign to me")

    page.evaluate(WATCH, "button[name=assign_one]")

    with page.expect_console_message(lambda message: message.text == "busy"):
        button.click(no_wait_after=True)  # the page it leads to is held back

    sent = parse_qs(arrived(page, routes)[0].request.post_data or "")
    assert sent["assign_one"] == [str(submission.pk)]
    for route in routes:
        route.continue_()
    expect(page.locator("#kyc-state")).to_be_visible()
    expect(page.get_by_role("button", name="Assign to me")).to_have_count(0)
    submission.refresh_from_db()
    assert submission.assignee is not None
    assert submission.assignee.username == "casey"


def test_an_htmx_form_is_busy_until_its_answer(sso_page, live_server, submission):
    page = sso_page("casey", "backoffice-compliance")
    open_page(page, live_server, submission)
    routes = held(page, f"/onboarding/submissions/{submission.pk}/reveal/ssn/")
    page.locator("#pii-ssn summary").click()
    page.locator("#reason-ssn").fill("Customer called to confirm identity")
    button = page.locator("#pii-ssn").get_by_role("button", name="Reveal")

    button.click()

    expect(button).to_be_disabled()
    expect(page.locator("#pii-ssn form.htmx-request")).to_have_count(1)
    assert len(arrived(page, routes)) == 1
    routes[0].continue_()
    expect(page.locator("#pii-ssn .revealed")).to_have_text("123-45-6789")


def test_a_note_form_is_busy_and_the_note_is_added_once(sso_page, live_server, submission):
    page = sso_page("casey", "backoffice-compliance")
    open_page(page, live_server, submission)
    routes = held(page, f"/onboarding/submissions/{submission.pk}/notes/")
    page.get_by_label("Note").fill("Called the customer back.")
    button = page.get_by_role("button", name="Add note")

    page.evaluate(WATCH, "form[action$='/notes/'] button")

    with page.expect_console_message(lambda message: message.text == "busy"):
        button.click(no_wait_after=True)
    assert len(arrived(page, routes)) == 1
    routes[0].continue_()

    expect(page.get_by_text("Called the customer back.")).to_be_visible()
    assert KycNote.objects.count() == 1
