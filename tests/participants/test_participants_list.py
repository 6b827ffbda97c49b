"""The participants list: everyone onboarded, newest first, by status, keyset pages, constant cost."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from participants.views import PAGE_SIZE
from tests.factories import KycSubmissionFactory


@pytest.fixture
def support(persona):
    return persona("support")


def test_newest_first_with_the_latest_submission_masked(support, firm):
    older = KycSubmissionFactory.create(participant__firm=firm, status="approved")
    KycSubmissionFactory.create(participant=older.participant, first_name="Zed", status="pending")
    newer = KycSubmissionFactory.create(participant__firm=firm, status="manual_review")

    response = support.get("/onboarding/participants/")

    rows = response.context["rows"]
    assert [r.participant.pk for r in rows] == [newer.participant_id, older.participant_id]
    assert [(r.name, r.kyc_status_label) for r in rows] == [
        ("J••• D•••", "Manual review"),
        ("Z••• D•••", "Waiting to be sent"),
    ]
    html = response.content.decode()
    assert "Jane" not in html
    assert f'href="/onboarding/participants/{older.participant_id}/"' in html


def test_filtered_by_participant_status(support, firm):
    KycSubmissionFactory.create(participant__firm=firm, participant__status="active")
    KycSubmissionFactory.create(participant__firm=firm, participant__status="rejected")

    rows = support.get("/onboarding/participants/?status=rejected").context["rows"]
    unknown = support.get("/onboarding/participants/?status=everything").context["rows"]

    assert [r.participant.status for r in rows] == ["rejected"]
    assert len(unknown) == 2  # an unknown status is no filter, never an error


def test_pages_go_both_ways(support, firm):
    KycSubmissionFactory.create_batch(PAGE_SIZE + 3, participant__firm=firm)
    first = support.get("/onboarding/participants/").context["page"]
    second = support.get(f"/onboarding/participants/{first.next_href}").context["page"]
    back = support.get(f"/onboarding/participants/{second.previous_href}").context["page"]

    assert (len(first.rows), len(second.rows), second.next_cursor) == (PAGE_SIZE, 3, "")
    assert [p.pk for p in back.rows] == [p.pk for p in first.rows]


def test_htmx_swaps_the_table_with_its_tabs(support, firm):
    KycSubmissionFactory.create(participant__firm=firm)

    response = support.get(
        "/onboarding/participants/?status=active",
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="participants-table",
    )

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="participants-table">')
    assert '<a href="?status=active" hx-get="?status=active"' in html
    assert 'aria-current="page">Active</a>' in html


def test_the_list_costs_the_same_queries_for_5_or_60_participants(
    support, firm, django_assert_num_queries
):
    KycSubmissionFactory.create_batch(5, participant__firm=firm)
    support.get("/onboarding/participants/")
    with django_assert_num_queries(4):  # session, user, permissions, the page of rows
        support.get("/onboarding/participants/")
    KycSubmissionFactory.create_batch(55, participant__firm=firm)
    with django_assert_num_queries(4):
        response = support.get("/onboarding/participants/?status=onboarding")
    assert len(response.context["rows"]) == PAGE_SIZE


def test_treasury_sees_ids_and_statuses_without_kyc_detail(persona, firm):
    KycSubmissionFactory.create(
        participant__firm=firm, participant__external_id="demo-ada", status="manual_review"
    )

    html = persona("treasury").get("/onboarding/participants/").content.decode()

    assert "demo-ada" in html
    assert ">Onboarding</span>" in html
    assert "J•••" not in html
    assert "Manual review" not in html


def test_roles_without_the_permission_are_refused(persona, db):
    Group.objects.get(name="treasury").permissions.clear()

    assert persona("treasury").get("/onboarding/participants/").status_code == 403
