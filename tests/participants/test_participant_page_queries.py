"""The participant page with a KYC case costs each role a fixed number of queries, whatever the
number of submissions, timeline entries, notes, duplicates, accounts and trading rows, and still
shows every one of them."""

from __future__ import annotations

import itertools

import pytest

from participants.models import Account, KycNote, KycStatusChange, KycSubmission, Participant
from tests.factories import BreakFactory, FundingRequestFactory, KycSubmissionFactory
from tests.trading.rows import executions, orders

pytestmark = pytest.mark.django_db

# What each role's page reads: session, user, permissions (superuser: read later, for the
# role-only ones); the participant's submissions with those flagged as duplicates of them; the
# participant with its accounts and the current case's timeline and notes; then one query for
# each panel the role may see (funding, reconciliation breaks, trading with the feed's state).
QUERIES = {"support": 6, "compliance": 7, "supervisor": 8, "superuser": 8, "treasury": 6}
# Account ids unique within the run: the trading rows' exchange ids come from their last digits.
_serial = itertools.count(1)


def grow(person: Participant, n: int) -> tuple[KycSubmission, list[str]]:
    """`n` of everything the page lists, for `person`; returns the current case and the
    accounts."""
    accounts = []
    for _ in range(n):
        KycSubmissionFactory.create(participant=person, status="rejected")
    current = KycSubmissionFactory.create(participant=person, status="manual_review")
    for i in range(n):
        KycStatusChange.objects.create(
            submission=current,
            to_status="manual_review",
            actor_label="exchange",
            source="poll",
            detail=f"step {person.pk}-{i}",
        )
        KycNote.objects.create(
            submission=current, author=current.submitted_by, text=f"note {person.pk}-{i}"
        )
        KycSubmissionFactory.create(
            participant__external_id=f"twin-{person.pk}-{i}",
            status="held_duplicate",
            duplicate_of=current,
        )
        account = f"firms/ISV-Acme/accounts/{next(_serial):04x}"
        accounts.append(account)
        owned = Account.objects.create(participant=person, account_id=account)
        orders(2, account=account)
        executions(2, account=account)
        FundingRequestFactory.create(account=owned)
        BreakFactory.create(account=account)
    return current, accounts


@pytest.mark.parametrize("role", sorted(QUERIES))
def test_each_role_reads_the_same_queries_for_a_few_rows_or_many(
    persona, firm, role, django_assert_num_queries
):
    few = KycSubmissionFactory.create(participant__firm=firm).participant
    many = KycSubmissionFactory.create(participant__firm=firm).participant
    grow(few, 1)
    grow(many, 12)
    client = persona(role)
    client.get(f"/onboarding/participants/{few.pk}/")

    with django_assert_num_queries(QUERIES[role]):
        assert client.get(f"/onboarding/participants/{few.pk}/").status_code == 200
    with django_assert_num_queries(QUERIES[role]):
        assert client.get(f"/onboarding/participants/{many.pk}/").status_code == 200


def test_the_page_shows_every_row_it_read(persona, firm):
    person = KycSubmissionFactory.create(participant__firm=firm).participant
    current, accounts = grow(person, 12)
    other = KycSubmissionFactory.create(participant__firm=firm).participant
    grow(other, 2)  # another participant's rows must not appear

    html = persona("supervisor").get(f"/onboarding/participants/{person.pk}/").content.decode()

    for i in range(12):
        assert f"step {person.pk}-{i}" in html
        assert f"note {person.pk}-{i}" in html
        assert f"twin-{person.pk}-{i}" in html
        assert accounts[i] in html
    assert f"step {other.pk}-" not in html
    assert f"note {other.pk}-" not in html
    assert f"twin-{other.pk}-" not in html
    # The notes name their authors, the timeline its source, in order.
    assert html.count(current.submitted_by.username) >= 12
    steps = [html.index(f"step {person.pk}-{i}") for i in range(12)]
    assert steps == sorted(steps)
    # The current case is the newest; the 13 earlier ones are listed under it.
    earlier = KycSubmission.objects.filter(participant=person).exclude(pk=current.pk)
    assert len(earlier) == 13
    for submission in earlier:
        assert f"<li>#{submission.pk} — {submission.get_status_display()}," in html


def test_a_participant_that_does_not_exist_is_not_found(persona):
    assert persona("support").get("/onboarding/participants/999999/").status_code == 404
