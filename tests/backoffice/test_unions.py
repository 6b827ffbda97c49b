"""rows_together: rows of several tables in one query, each part in its own order, with what
each part loads, and nothing asked of a part that is empty."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import FieldDoesNotExist
from django.db.models import F

from backoffice.unions import rows_together
from participants.models import Account, KycNote, Participant
from tests.factories import KycSubmissionFactory, ParticipantFactory
from trading.models import BalanceSnapshot

pytestmark = pytest.mark.django_db


def test_each_part_comes_back_in_its_own_order_as_instances_of_its_model(
    django_assert_num_queries,
):
    ada = ParticipantFactory.create(external_id="ada")
    bob = ParticipantFactory.create(external_id="bob")
    for n, person in enumerate((ada, bob, ada)):
        Account.objects.create(participant=person, account_id=f"firms/x/accounts/{n}")

    with django_assert_num_queries(1):
        people, accounts = rows_together(
            Participant.objects.filter(pk__in=[ada.pk, bob.pk]).order_by("-external_id"),
            Account.objects.filter(participant=ada).order_by("-account_id"),
        )

    assert [p.external_id for p in people] == ["bob", "ada"]
    assert [a.account_id for a in accounts] == ["firms/x/accounts/2", "firms/x/accounts/0"]
    assert all(isinstance(a, Account) and a.participant_id == ada.pk for a in accounts)
    assert not accounts[0]._state.adding  # loaded from the database, as Django's own are
    assert accounts[0].created_at.tzinfo is not None


def test_annotations_and_text_of_another_table_land_on_their_instances():
    submission = KycSubmissionFactory.create()
    KycNote.objects.create(submission=submission, author=submission.submitted_by, text="a\nb")

    (person,), (note,) = rows_together(
        Participant.objects.filter(pk=submission.participant_id),
        KycNote.objects.annotate(author_username=F("author__username")),
    )

    assert person.pk == submission.participant_id
    assert note.text == "a\nb"
    assert note.author_username == submission.submitted_by.username


def test_a_part_loads_only_what_only_or_defer_say_and_defers_the_rest(
    django_assert_num_queries,
):
    person = ParticipantFactory.create(external_id="ada", status="active")

    with django_assert_num_queries(1) as read:
        narrow, wide = rows_together(
            Participant.objects.filter(pk=person.pk).only("external_id"),
            Participant.objects.filter(pk=person.pk).defer("participant_id"),
        )
    sql = read.captured_queries[0]["sql"]

    assert narrow[0].get_deferred_fields() == {"firm_id", "participant_id", "status", "created_at"}
    assert wide[0].get_deferred_fields() == {"participant_id"}
    assert narrow[0].external_id == "ada"
    assert wide[0].status == "active"
    assert '"participants_participant"."participant_id"' not in sql
    with django_assert_num_queries(1):  # a deferred field is read when asked for, as Django does
        assert narrow[0].status == "active"


def test_a_name_that_is_not_a_field_is_refused():
    with pytest.raises(FieldDoesNotExist):
        rows_together(Participant.objects.only("externalid"))


def test_empty_parts_are_not_asked_and_all_empty_costs_no_query(django_assert_num_queries):
    person = ParticipantFactory.create()
    Account.objects.create(participant=person, account_id="firms/x/accounts/1")

    with django_assert_num_queries(1) as read:
        people, none, accounts = rows_together(
            Participant.objects.filter(pk=person.pk),
            KycNote.objects.none(),
            Account.objects.filter(participant=person),
        )
    assert len(people) == 1
    assert none == []
    assert len(accounts) == 1
    assert "participants_kycnote" not in read.captured_queries[0]["sql"]

    with django_assert_num_queries(0):
        assert rows_together(Participant.objects.none(), Account.objects.none()) == [[], []]


def test_decimals_and_times_survive_the_shared_columns():
    person = ParticipantFactory.create()
    at = dt.datetime(2026, 11, 30, 15, 0, 0, 123456, tzinfo=dt.UTC)
    BalanceSnapshot.objects.create(
        account="firms/x/accounts/1",
        cash=Decimal("12.340000"),
        buying_power=Decimal("-0.000001"),
        open_orders=Decimal("0"),
        as_of=at,
    )

    people, (balance,) = rows_together(
        Participant.objects.filter(pk=person.pk), BalanceSnapshot.objects.all()
    )

    assert people[0].pk == person.pk
    assert balance.cash == Decimal("12.340000")
    assert balance.buying_power == Decimal("-0.000001")
    assert balance.as_of == at
