"""Onboarding's work on the home page: counts that lead to the queue filtered to just those cases,
for the roles that work onboarding, at a fixed number of queries however many cases there are."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from participants.models import KycSubmission
from tests.factories import KycSubmissionFactory


@pytest.fixture
def cases(db, firm, make_user):
    me = make_user("casey", "compliance")
    made = {
        "mine": KycSubmissionFactory.create(
            participant__firm=firm, status="manual_review", assignee=me
        ),
        "held": KycSubmissionFactory.create(participant__firm=firm, status="held_duplicate"),
        "not sent": KycSubmissionFactory.create(participant__firm=firm, status="submit_failed"),
        "unknown": KycSubmissionFactory.create(participant__firm=firm, status="outcome_unknown"),
        "docs": KycSubmissionFactory.create(participant__firm=firm, status="document_check"),
        "done": KycSubmissionFactory.create(participant__firm=firm, status="approved"),
    }
    KycSubmission.objects.filter(pk=made["held"].pk).update(
        created_at=timezone.now() - dt.timedelta(days=3)
    )
    return me, made


def tiles(html: str) -> dict[str, tuple[int, str]]:
    """label -> (count, link) of the home page's onboarding tiles."""
    found = re.findall(
        r'<a class="tile" href="([^"]+)"><span class="count">(\d+)</span> Onboarding: ([^<]+)</a>',
        html,
    )
    return {label: (int(count), link.replace("&amp;", "&")) for link, count, label in found}


def test_home_counts_the_work_and_each_count_leads_to_those_cases(client, cases):
    me, made = cases
    client.force_login(me)

    shown = tiles(client.get("/").content.decode())

    assert {label: count for label, (count, _) in shown.items()} == {
        "assigned to me": 1,
        "overdue": 1,
        "held as possible duplicates": 1,
        "failed sends": 2,
        "waiting on the exchange": 1,  # a document check waits on the participant
    }
    expected = {
        "assigned to me": {made["mine"].pk},
        "overdue": {made["held"].pk},
        "held as possible duplicates": {made["held"].pk},
        "failed sends": {made["not sent"].pk, made["unknown"].pk},
        "waiting on the exchange": {made["mine"].pk},
    }
    for label, (_, link) in shown.items():
        assert client.get(link).status_code == 200
        rows = re.findall(r"/onboarding/participants/(\d+)/", client.get(link).content.decode())
        participants = {int(pk) for pk in rows}
        assert participants == {
            KycSubmission.objects.get(pk=pk).participant_id for pk in expected[label]
        }, label


def test_treasury_has_no_onboarding_counts(persona, cases):
    assert tiles(persona("treasury").get("/").content.decode()) == {}


@pytest.mark.parametrize(
    ("role", "held"), [("support", False), ("supervisor", False), ("superuser", True)]
)
def test_held_duplicates_are_counted_for_whoever_may_release_them(persona, cases, role, held):
    shown = tiles(persona(role).get("/").content.decode())

    assert ("held as possible duplicates" in shown) is held
    assert len(shown) == 4 + held


def test_home_costs_a_fixed_nine_queries(client, cases, django_assert_num_queries):
    me, _ = cases
    client.force_login(me)
    client.get("/")

    # session, user, roles, the permissions, onboarding's counts, reconciliation's, trading's three
    with django_assert_num_queries(9):
        client.get("/")


@pytest.mark.parametrize("role", ["compliance", "support", "treasury", "supervisor", "superuser"])
def test_home_costs_the_same_queries_with_many_more_cases(
    persona, cases, firm, role, django_assert_max_num_queries
):
    client = persona(role)
    client.get("/")
    with django_assert_max_num_queries(20) as before:
        client.get("/")
    KycSubmissionFactory.create_batch(40, participant__firm=firm, status="submit_failed")

    with django_assert_max_num_queries(len(before.captured_queries)):
        client.get("/")
