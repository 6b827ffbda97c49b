"""The participant page tells one story: our state, the exchange's latest decision in the same
words, who the case waits on, and a page that updates itself while a decision may arrive."""

from __future__ import annotations

import pytest

from participants.models import KycStatusChange, KycSubmission
from participants.outcomes import KycOutcome
from participants.services import kyc_outcome_apply
from participants.states import kyc_submission_transition
from participants.story import NEXT_STEPS, WaitingOn, kyc_story, next_step, version_of
from tests.factories import KycSubmissionFactory

S = KycSubmission.Status


@pytest.mark.parametrize("status", S.values)
def test_every_state_says_who_it_waits_on_and_what_happens_next(status):
    step = NEXT_STEPS[status]  # a new state without its words fails here

    assert isinstance(step.waiting_on, WaitingOn)
    assert step.text.endswith(".")


def test_terminal_states_wait_on_nobody_and_are_not_watched():
    for status in (S.APPROVED, S.REJECTED, S.WITHDRAWN):
        assert next_step(status).waiting_on == WaitingOn.NOBODY
        assert not next_step(status).live
    assert next_step(S.MANUAL_REVIEW).live
    assert next_step(S.DOCUMENT_CHECK).live
    assert not next_step(S.HELD_DUPLICATE).live


@pytest.fixture
def reviewed(firm):
    """A manual review the exchange then approved by webhook (which carries no decision code)."""
    submission = KycSubmissionFactory.create(participant__firm=firm, status="submitting")
    kyc_outcome_apply(
        submission=submission,
        outcome=KycOutcome(decision="REVIEW", exchange_status="OPEN", sub_status="In Review"),
        actor=None,
        source="exchange",
    )
    kyc_outcome_apply(
        submission=submission,
        outcome=KycOutcome(
            event_type="kyc.approved",
            exchange_status="KYC_STATUS_APPROVED",
            participant_id="firms/ISV-Participant-Acme/users/user-1",
            account_id="firms/ISV-Participant-Acme/accounts/1",
        ),
        actor=None,
        source="webhook",
    )
    submission.refresh_from_db()
    return submission


def test_the_exchanges_codes_come_from_its_latest_answer_only(reviewed):
    assert (reviewed.decision, reviewed.exchange_status, reviewed.exchange_sub_status) == (
        "",
        "KYC_STATUS_APPROVED",
        "",
    )


def test_the_story_of_an_approved_manual_review(reviewed):
    story = kyc_story(reviewed, list(reviewed.history.all()))
    assert story.exchange_word is not None

    assert (story.state_label, story.exchange_word.label) == ("Approved", "Approved")
    assert story.exchange_word.source == "Webhook"
    assert story.next.waiting_on == WaitingOn.NOBODY
    assert story.codes == (("status", "KYC_STATUS_APPROVED"),)


def test_the_page_never_mixes_vocabularies(persona, reviewed):
    html = persona("support").get(f"/onboarding/participants/{reviewed.participant_id}/")
    html = html.content.decode()

    decision = html.split('id="exchange-decision">', 1)[1].split("</dd>", 1)[0]
    shown = decision.split("<details", 1)[0]
    assert ">Approved</span>" in shown
    assert "REVIEW" not in html
    assert "In Review" not in html
    assert "KYC_STATUS_APPROVED" not in shown  # the raw code only behind "the exchange's own codes"
    assert "<strong>nobody</strong> — Onboarded" in html
    assert 'id="kyc-live"' not in html  # nothing left to wait for
    assert "Webhook, by webhook:kyc" not in html  # the timeline names its source once


@pytest.fixture
def in_review(firm):
    submission = KycSubmissionFactory.create(participant__firm=firm, status="submitting")
    kyc_submission_transition(
        submission=submission, to_status=S.MANUAL_REVIEW, actor=None, source="exchange"
    )
    submission.refresh_from_db()
    return submission


def live(client, submission, since: str):
    return client.get(
        f"/onboarding/participants/{submission.participant_id}/",
        {"since": since},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="kyc-live",
    )


def test_a_pending_decision_is_watched_and_the_page_reloads_when_it_arrives(persona, in_review):
    client = persona("support")
    html = client.get(f"/onboarding/participants/{in_review.participant_id}/").content.decode()
    since = version_of(in_review)

    assert f'hx-get="/onboarding/participants/{in_review.participant_id}/?since={since}"' in html
    assert "<strong>the exchange</strong> — A person at the exchange" in html
    unchanged = live(client, in_review, since)
    kyc_submission_transition(
        submission=in_review, to_status=S.APPROVED, actor=None, source="webhook"
    )
    changed = live(client, in_review, since)

    assert (unchanged.status_code, unchanged.content) == (200, b"")
    assert "HX-Refresh" not in unchanged
    assert changed["HX-Refresh"] == "true"


def test_the_watch_costs_a_fixed_few_queries(persona, in_review, django_assert_num_queries):
    client = persona("support")
    live(client, in_review, "x")
    with django_assert_num_queries(5):  # session, user, permissions, participant, its latest
        live(client, in_review, version_of(in_review))


def test_treasury_cannot_watch_kyc(persona, in_review):
    assert live(persona("treasury"), in_review, "x").status_code == 403


def test_assign_to_me_is_offered_on_open_cases_only(persona, in_review, firm):
    decided = KycSubmissionFactory.create(participant__firm=firm, status="approved")
    client = persona("support")

    def offers(submission) -> bool:
        page = client.get(f"/onboarding/participants/{submission.participant_id}/")
        return "Assign to me" in page.content.decode()

    assert offers(in_review)
    assert not offers(decided)
    assert KycStatusChange.objects.count() == 1
