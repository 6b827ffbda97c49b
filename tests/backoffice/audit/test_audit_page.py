"""The audit page: filters, keyset pages, a constant number of queries."""

from __future__ import annotations

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

    response = client.get("/audit/", HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="results">')
    assert "<nav" not in html


def test_pages_follow_each_other_without_gaps(persona):
    client = persona("compliance")
    make_events(PAGE_SIZE + 5)
    first = client.get("/audit/?action=participants").context["page"]
    second = client.get(f"/audit/?action=participants&after={first.next_cursor}").context["page"]

    assert len(first.events) == PAGE_SIZE
    assert len(second.events) == 5
    assert second.next_cursor == ""
    assert first.events[-1].pk > second.events[0].pk


def test_a_bad_date_range_names_the_field(persona):
    response = persona("compliance").get("/audit/?date_from=2026-05-02&date_to=2026-05-01")

    assert "The end date is before the start date." in response.content.decode()


def test_the_page_costs_the_same_queries_whatever_the_row_count(persona, django_assert_num_queries):
    client = persona("compliance")
    make_events(5)
    client.get("/audit/")
    with django_assert_num_queries(5) as few:
        client.get("/audit/")
    make_events(200)
    with django_assert_num_queries(len(few.captured_queries)):
        client.get("/audit/")
