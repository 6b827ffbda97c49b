"""The queue's filters and actions parse what they are sent strictly: a bad value is refused
with a message naming its field, never a 500, never a guess at what was meant."""

from __future__ import annotations

import pytest

from backoffice.audit.models import AuditEvent
from participants.models import KycSubmission
from tests.factories import KycSubmissionFactory


@pytest.fixture
def support(persona):
    return persona("support")


@pytest.fixture
def waiting(db, firm):
    return KycSubmissionFactory.create(participant__firm=firm, status="manual_review")


def nothing_assigned(waiting) -> None:
    assert KycSubmission.objects.get(pk=waiting.pk).assignee is None
    assert not AuditEvent.objects.filter(action="participants.kyc.assigned").exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"assign_one": "99999999999999999999999"}, "assign_one"),
        ({"assign_one": "9223372036854775808"}, "assign_one"),
        ({"assign_one": "\u00b2"}, "assign_one"),
        ({"assign_one": "\u0661"}, "assign_one"),
        ({"assign_one": "-1"}, "assign_one"),
        ({"submission": ["9223372036854775808"], "assignee": "me"}, "submission"),
        ({"submission": ["1", "x"], "assignee": "me"}, "submission"),
        ({"submission": ["1"], "assignee": "a" * 151}, "assignee"),
        ({"submission": ["1"], "assignee": "a\x00b"}, "assignee"),
    ],
)
def test_ids_and_names_that_do_not_fit_are_refused_naming_the_field(support, waiting, data, field):
    response = support.post("/onboarding/assign/", data, follow=True)

    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    assert len(messages) == 1
    assert messages[0].startswith(f"{field}: ")
    nothing_assigned(waiting)


def test_the_largest_id_the_database_holds_is_an_id_that_names_nothing(support, waiting):
    response = support.post(
        "/onboarding/assign/", {"assign_one": "9223372036854775807"}, follow=True
    )

    assert [str(m) for m in response.context["messages"]] == [
        "Assigned 0 submissions to support-persona."
    ]
    nothing_assigned(waiting)


@pytest.mark.parametrize(
    "next_page",
    [
        "https://evil.example/",
        "//evil.example/onboarding/",
        "/onboarding/\r\nSet-Cookie: x",
        "/admin/",
    ],
)
def test_an_action_never_sends_anyone_off_our_onboarding_pages(support, waiting, next_page):
    response = support.post("/onboarding/assign/", {"assign_one": waiting.pk, "next": next_page})

    assert response.status_code == 302
    assert response["Location"] == "/onboarding/"


def test_an_action_returns_to_the_onboarding_page_it_came_from(support, waiting):
    response = support.post(
        "/onboarding/assign/",
        {"assign_one": waiting.pk, "next": "/onboarding/?status=manual_review"},
    )

    assert response["Location"] == "/onboarding/?status=manual_review"


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("assignee=" + "a" * 151, "Assignee: Ensure this value has at most 150 characters"),
        ("assignee=a%00b", "Assignee: Null characters are not allowed."),
        ("status=nonsense", "Status: Select a valid choice."),
        ("overdue=maybe", "Overdue: Tick the box or leave it empty."),
    ],
)
def test_filters_that_do_not_fit_show_their_error_and_no_rows(support, waiting, query, error):
    response = support.get(f"/onboarding/?{query}")

    assert response.status_code == 200
    assert response.context["items"] == []
    assert error in response.content.decode()


def test_a_long_assignee_is_not_cut_to_someone_elses_name(support, firm, make_user):
    colleague = make_user("c" * 150, "support")
    KycSubmissionFactory.create(participant__firm=firm, status="manual_review", assignee=colleague)

    response = support.get("/onboarding/?assignee=" + "c" * 150 + "-other")

    assert response.context["items"] == []


@pytest.mark.parametrize("cursor", ["\u00b2", "\u0661", "9" * 30, "-5", "1e3"])
def test_a_cursor_that_is_not_an_id_gives_the_first_page(support, waiting, cursor):
    for name in ("after", "before"):
        response = support.get(f"/onboarding/?{name}={cursor}")

        assert response.status_code == 200
        assert [item["submission"] for item in response.context["items"]] == [waiting]


def test_the_export_refuses_filters_that_do_not_fit_naming_them(support, waiting):
    response = support.get("/onboarding/export.csv?assignee=" + "a" * 151)

    assert response.status_code == 400
    assert response.content.decode().startswith("Assignee: Ensure this value has at most 150")
    assert not AuditEvent.objects.filter(action="participants.kyc.exported").exists()
