"""The queue: by state, age against the SLA, assignment, notes, masked CSV, constant queries."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from backoffice.audit.models import AuditEvent
from participants.models import KycSubmission
from tests.factories import KycSubmissionFactory


@pytest.fixture
def support(persona):
    return persona("support")


def test_open_submissions_are_listed_oldest_first_with_overdue_marked(support, firm, settings):
    settings.KYC_SLA_HOURS = 24
    old = KycSubmissionFactory.create(
        participant__firm=firm,
        status="manual_review",
        created_at=timezone.now() - dt.timedelta(hours=30),
    )
    new = KycSubmissionFactory.create(participant__firm=firm, status="document_check")
    KycSubmissionFactory.create(participant__firm=firm, status="approved")

    response = support.get("/onboarding/")

    items = response.context["items"]
    assert [i["submission"].pk for i in items] == [old.pk, new.pk]
    assert [i["overdue"] for i in items] == [True, False]
    assert "overdue</span>" in response.content.decode()


def test_filters_by_state_and_overdue(support, firm, settings):
    settings.KYC_SLA_HOURS = 24
    KycSubmissionFactory.create(
        participant__firm=firm,
        status="manual_review",
        created_at=timezone.now() - dt.timedelta(hours=30),
    )
    KycSubmissionFactory.create(participant__firm=firm, status="manual_review")
    KycSubmissionFactory.create(participant__firm=firm, status="document_check")

    assert len(support.get("/onboarding/?status=manual_review").context["items"]) == 2
    assert len(support.get("/onboarding/?status=manual_review&overdue=1").context["items"]) == 1
    assert len(support.get("/onboarding/?status=approved").context["items"]) == 0


def test_assign_to_me_and_bulk_assign(support, persona, firm, make_user):
    a, b, c = KycSubmissionFactory.create_batch(3, participant__firm=firm, status="manual_review")
    colleague = make_user("colleague", "compliance")

    support.post("/onboarding/assign/", {"assign_one": a.pk})
    support.post("/onboarding/assign/", {"submission": [b.pk, c.pk], "assignee": "colleague"})

    assert KycSubmission.objects.filter(pk=a.pk, assignee__username="support-persona").exists()
    assert {s.assignee for s in KycSubmission.objects.filter(pk__in=[b.pk, c.pk])} == {colleague}
    assert AuditEvent.objects.filter(action="participants.kyc.assigned").count() == 3
    assert len(support.get("/onboarding/?assignee=me").context["items"]) == 1


def test_assigning_to_someone_outside_the_queue_is_refused(support, firm, make_user):
    submission = KycSubmissionFactory.create(participant__firm=firm, status="manual_review")
    make_user("treasurer", "treasury")

    response = support.post(
        "/onboarding/assign/", {"submission": [submission.pk], "assignee": "treasurer"}, follow=True
    )

    assert "Choose someone who works the onboarding queue." in response.content.decode()
    assert KycSubmission.objects.get(pk=submission.pk).assignee is None


def test_treasury_cannot_assign(persona, firm):
    submission = KycSubmissionFactory.create(participant__firm=firm, status="manual_review")

    assert (
        persona("treasury").post("/onboarding/assign/", {"assign_one": submission.pk}).status_code
        == 403
    )
    assert KycSubmission.objects.get(pk=submission.pk).assignee is None


def test_notes_are_added_and_audited(support, firm):
    submission = KycSubmissionFactory.create(participant__firm=firm, status="manual_review")

    support.post(
        f"/onboarding/submissions/{submission.pk}/notes/", {"text": "Called the customer back."}
    )

    assert list(submission.notes.values_list("text", flat=True)) == ["Called the customer back."]
    assert AuditEvent.objects.filter(action="participants.kyc.note_added").exists()
    assert (
        "Called the customer back."
        in support.get(f"/onboarding/participants/{submission.participant_id}/").content.decode()
    )


def test_the_csv_export_is_masked(support, firm):
    KycSubmissionFactory.create(participant__firm=firm, status="manual_review", ssn="123456789")

    response = support.get("/onboarding/export.csv")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    raw = b"".join(response.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbfsubmission,")  # the UTF-8 byte-order mark spreadsheets need
    body = raw.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == [
        "submission",
        "external_id",
        "name",
        "ssn",
        "status",
        "created_at_utc",
        "overdue",
        "assignee",
    ]
    assert rows[1][2:5] == ["J••• D•••", "•••-••-6789", "manual_review"]
    assert rows[1][5].endswith("Z")  # UTC, as the header says
    assert "123456789" not in body
    assert "Jane" not in body
    assert AuditEvent.objects.filter(action="participants.kyc.exported").exists()


def test_the_queue_costs_the_same_queries_for_5_or_60_rows(
    support, firm, django_assert_num_queries
):
    KycSubmissionFactory.create_batch(5, participant__firm=firm, status="manual_review")
    support.get("/onboarding/")
    # session, user, permissions, rows, counts, staff list
    with django_assert_num_queries(6) as five:
        support.get("/onboarding/")
    KycSubmissionFactory.create_batch(55, participant__firm=firm, status="manual_review")

    with django_assert_num_queries(len(five.captured_queries)):
        response = support.get("/onboarding/")
    assert len(response.context["items"]) == 50
    assert response.context["page"].next_cursor == str(
        response.context["items"][-1]["submission"].pk
    )


def test_the_participant_page_refuses_roles_without_onboarding_access(persona, firm, db):
    submission = KycSubmissionFactory.create(participant__firm=firm)
    from django.contrib.auth.models import Group

    Group.objects.get(name="treasury").permissions.clear()

    assert (
        persona("treasury")
        .get(f"/onboarding/participants/{submission.participant_id}/")
        .status_code
        == 403
    )
