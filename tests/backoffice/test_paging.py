"""Keyset pages both ways: every page but the first links back, every page but the last onward."""

from __future__ import annotations

import pytest
from django.http import QueryDict

from backoffice.audit.models import AuditEvent
from backoffice.paging import keyset_page


@pytest.fixture
def ids(db) -> list[int]:
    AuditEvent.objects.bulk_create(
        AuditEvent(actor_label="system", action="test.paging") for _ in range(7)
    )
    return list(AuditEvent.objects.order_by("id").values_list("id", flat=True))


def page(query: str, *, newest_first: bool):
    return keyset_page(
        AuditEvent.objects.all(), query=QueryDict(query), size=3, newest_first=newest_first
    )


def test_oldest_first_forward_and_back(ids):
    first = page("status=open", newest_first=False)
    second = page(f"status=open&after={first.next_cursor}", newest_first=False)
    third = page(f"status=open&after={second.next_cursor}", newest_first=False)
    back = page(f"status=open&before={third.previous_cursor}", newest_first=False)
    start = page(f"status=open&before={back.previous_cursor}", newest_first=False)

    assert [r.pk for r in first.rows] == ids[:3]
    assert (first.previous_href, first.next_href) == ("", f"?status=open&after={ids[2]}")
    assert [r.pk for r in second.rows] == ids[3:6]
    assert second.previous_href == f"?status=open&before={ids[3]}"
    assert ([r.pk for r in third.rows], third.next_cursor) == (ids[6:], "")
    assert [r.pk for r in back.rows] == ids[3:6]
    assert back.next_cursor == str(ids[5])
    assert ([r.pk for r in start.rows], start.previous_cursor) == (ids[:3], "")


def test_newest_first_forward_and_back(ids):
    first = page("", newest_first=True)
    second = page(f"after={first.next_cursor}", newest_first=True)
    back = page(f"before={second.previous_cursor}", newest_first=True)

    assert [r.pk for r in first.rows] == ids[::-1][:3]
    assert first.next_href == f"?after={ids[4]}"
    assert [r.pk for r in second.rows] == ids[::-1][3:6]
    assert [r.pk for r in back.rows] == [r.pk for r in first.rows]
    assert back.previous_cursor == ""


def test_an_empty_page_past_the_end_still_links_back(ids):
    past = page(f"after={ids[0]}", newest_first=True)

    assert (past.rows, past.next_cursor, past.previous_cursor) == ([], "", str(ids[0]))


def test_cursors_that_are_not_ids_are_ignored(ids):
    assert [r.pk for r in page("after=1;DROP&before=-3", newest_first=False).rows] == ids[:3]
    assert [r.pk for r in page("after=" + "9" * 40, newest_first=False).rows] == ids[:3]
