"""The audit page: filters, keyset pages, a constant number of queries."""

from __future__ import annotations

import pytest

from backoffice.audit.models import AuditEvent
from backoffice.audit.selectors import PAGE_SIZE


def make_events(count: int, action: str = "participants.kyc.submitted") -> None:
    AuditEvent.objects.bulk_create(
        AuditEvent(actor_label="system", action=action) for _ in range(count)
    )


def test_filters_by_action_prefix_and_actor(persona):
    client = persona("compliance")
    make_events(3, "funding.deposit.requested")
    make_events(2, "participants.kyc.submitted")

    html = client.get("/audit/?action=funding").content.decode()

    assert html.count("<code>funding.deposit.requested</code>") == 3
    assert "participants.kyc.submitted" not in html


def test_htmx_requests_get_only_the_results_partial(persona):
    client = persona("compliance")
    make_events(1)

    response = client.get("/audit/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results")

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="results">')
    assert '<nav class="sidenav"' not in html
    assert response["Vary"] == "HX-Request, Cookie"


def test_back_and_forward_after_htmx_get_the_whole_page(persona):
    """htmx restoring history asks with HX-History-Restore-Request: the page must be whole."""
    client = persona("compliance")
    make_events(1)

    response = client.get(
        "/audit/?action=participants",
        HTTP_HX_REQUEST="true",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    )

    html = response.content.decode()
    assert '<nav class="sidenav"' in html
    assert "<h1>Audit trail</h1>" in html
    assert 'name="action"' in html


def test_pages_follow_each_other_without_gaps(persona):
    client = persona("compliance")
    make_events(PAGE_SIZE + 5)
    first = client.get("/audit/?action=participants").context["page"]
    second = client.get(f"/audit/?action=participants&after={first.next_cursor}").context["page"]
    back = client.get(f"/audit/?action=participants&before={second.previous_cursor}")

    assert len(first.rows) == PAGE_SIZE
    assert (first.previous_cursor, len(second.rows), second.next_cursor) == ("", 5, "")
    assert first.rows[-1].pk > second.rows[0].pk
    assert [e.pk for e in back.context["page"].rows] == [e.pk for e in first.rows]
    assert back.context["page"].previous_cursor == ""
    html = back.content.decode()
    assert "Newer events" not in html
    assert f'href="?action=participants&amp;after={first.next_cursor}"' in html
    assert "← Newer events" in client.get(f"/audit/{first.next_href}").content.decode()


def test_a_bad_date_range_names_the_field(persona):
    make_events(3)

    response = persona("compliance").get("/audit/?date_from=2026-05-02&date_to=2026-05-01")

    html = response.content.decode()
    assert "The end date is before the start date." in html
    assert response.context["page"] is None
    assert "participants.kyc.submitted" not in html  # no unfiltered rows under the error
    assert "No events are shown: correct the filters above." in html


def test_a_malformed_date_shows_no_rows(persona):
    make_events(3)

    html = persona("compliance").get("/audit/?date_from=yesterday").content.decode()

    assert "Enter a valid date." in html
    assert "participants.kyc.submitted" not in html


def test_dates_are_days_of_the_display_time_zone(persona, settings):
    import datetime as dt

    settings.TIME_ZONE = "America/New_York"
    late = dt.datetime(2026, 12, 2, 3, 30, tzinfo=dt.UTC)  # 22:30 on Dec 1 in New York
    AuditEvent.objects.create(occurred_at=late, actor_label="system", action="test.late")
    client = persona("compliance")

    on_the_first = client.get("/audit/?date_from=2026-12-01&date_to=2026-12-01&action=test.late")
    on_the_second = client.get("/audit/?date_from=2026-12-02&action=test.late")

    assert len(on_the_first.context["page"].rows) == 1
    assert on_the_second.context["page"].rows == []


def test_the_page_costs_the_same_queries_whatever_the_row_count(persona, django_assert_num_queries):
    client = persona("compliance")
    make_events(5)
    client.get("/audit/")
    with django_assert_num_queries(4) as few:
        client.get("/audit/")
    make_events(200)
    AuditEvent.objects.bulk_create(
        AuditEvent(actor_label="x", action="x.y", object_type=kind, object_id="1")
        for kind in ("participants.kycsubmission", "participants.firm", "auth.user", "gone.x")
    )
    with django_assert_num_queries(len(few.captured_queries)):
        client.get("/audit/")  # naming and linking objects reads nothing more


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("date_from=0001-01-01", "Give a date between 1900 and 2100."),
        ("date_to=9999-12-31", "Give a date between 1900 and 2100."),
        ("actor=" + "a" * 151, "Ensure this value has at most 150 characters"),
        ("action=x%00y", "Null characters are not allowed."),
    ],
)
def test_filters_that_do_not_fit_are_refused_naming_the_field(persona, query, error):
    response = persona("compliance").get(f"/audit/?{query}")

    assert response.status_code == 200
    assert response.context["page"] is None
    assert error in response.content.decode()


def test_objects_are_named_and_linked_to_their_pages(persona, db):
    from tests.factories import KycSubmissionFactory

    submission = KycSubmissionFactory.create()
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                actor_label="system",
                action="participants.kyc.created",
                object_type="participants.kycsubmission",
                object_id=str(submission.pk),
            ),
            AuditEvent(
                actor_label="system",
                action="participants.firm.set_up",
                object_type="participants.firm",
                object_id=str(submission.participant.firm_id),
            ),
            AuditEvent(
                actor_label="system", action="gone.thing", object_type="gone.model", object_id="7"
            ),
        ]
    )

    compliance = persona("compliance").get("/audit/").content.decode()
    admin = persona("superuser").get("/audit/").content.decode()

    assert (
        f'<a href="/onboarding/submissions/{submission.pk}/">KYC submission #{submission.pk}</a>'
        in compliance
    )
    # The firm's page is the admin's, which compliance may not open: named, not linked.
    assert f"Firm #{submission.participant.firm_id}</td>" in compliance
    assert f'<a href="/admin/participants/firm/{submission.participant.firm_id}/change/">' in admin
    assert "gone.model #7</td>" in compliance


def test_a_submission_link_lands_on_its_participants_page(persona, db):
    from tests.factories import KycSubmissionFactory

    submission = KycSubmissionFactory.create()

    response = persona("compliance").get(f"/onboarding/submissions/{submission.pk}/")

    assert response["Location"] == f"/onboarding/participants/{submission.participant_id}/"
    assert persona("treasury").get(f"/onboarding/submissions/{submission.pk}/").status_code == 403


def test_long_payload_values_are_cut_with_the_full_value_on_demand(persona):
    long = "x" * 150
    AuditEvent.objects.create(
        actor_label="system", action="test.long", payload={"reason": long, "n": 3}
    )

    html = persona("compliance").get("/audit/").content.decode()

    assert f'<span class="kv">reason={"x" * 59}…</span>' in html
    assert f"<summary>full reason</summary><code>{long}</code>" in html
    assert '<span class="kv">n=3</span>' in html


def test_the_export_is_the_filtered_events_in_utc_and_is_audited(persona):
    import csv
    import datetime as dt
    import io

    AuditEvent.objects.create(
        occurred_at=dt.datetime(2026, 12, 1, 8, 58, 12, tzinfo=dt.UTC),
        actor_label="casey",
        action="participants.kyc.created",
        object_type="participants.kycsubmission",
        object_id="4",
        payload={"status": "pending"},
        client_ip="192.0.2.1",
        request_id="abc",
    )
    make_events(2, "identity.signin")
    client = persona("compliance")

    response = client.get("/audit/export.csv?action=participants&date_from=2026-12-01")

    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows == [
        [
            "occurred_at_utc",
            "actor",
            "action",
            "object_type",
            "object_id",
            "payload_json",
            "client_ip",
            "request_id",
        ],
        [
            "2026-12-01T08:58:12Z",
            "casey",
            "participants.kyc.created",
            "participants.kycsubmission",
            "4",
            '{"status": "pending"}',
            "192.0.2.1",
            "abc",
        ],
    ]
    exported = AuditEvent.objects.get(action="audit.exported")
    assert exported.payload == {"action": "participants", "date_from": "2026-12-01"}
    assert exported.actor_label == "compliance-persona"


def test_an_export_with_bad_filters_is_refused_and_writes_nothing(persona):
    make_events(2)

    response = persona("compliance").get(
        "/audit/export.csv?date_from=2026-05-02&date_to=2026-05-01"
    )

    assert response.status_code == 400
    assert "The end date is before the start date." in response.content.decode()
    assert not AuditEvent.objects.filter(action="audit.exported").exists()


def test_the_export_needs_the_audit_permission(persona):
    assert persona("support").get("/audit/export.csv").status_code == 403
    assert not AuditEvent.objects.filter(action="audit.exported").exists()
