"""Keyset pages in both directions: page 10,000 costs what page 1 costs, and every page but the
first and the last links both ways.

A page is asked for by the id of a row on its edge: `after=<id>` is the page that follows that row
in the list's order, `before=<id>` the page that precedes it. The links carry no offset, so rows
that arrive while someone reads never shift the pages under them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from django.db.models import Model, QuerySet
from django.http import QueryDict

from backoffice.inputs import parse_id

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class KeysetPage(Generic[M]):
    rows: list[M]
    next_cursor: str  # "" on the last page
    previous_cursor: str  # "" on the first page
    querystring: str  # the filters, without the cursor

    @property
    def next_href(self) -> str:
        return self._href("after", self.next_cursor)

    @property
    def previous_href(self) -> str:
        return self._href("before", self.previous_cursor)

    def _href(self, name: str, cursor: str) -> str:
        if not cursor:
            return ""
        return f"?{self.querystring}&{name}={cursor}" if self.querystring else f"?{name}={cursor}"


def _cursor(query: QueryDict, name: str) -> int | None:
    return parse_id(query.get(name, ""))


def keyset_page(
    queryset: QuerySet[M], *, query: QueryDict, size: int, newest_first: bool
) -> KeysetPage[M]:
    """One page of `queryset` by id: newest first (descending) or oldest first (ascending)."""
    filters = query.copy()
    filters.pop("after", None)
    filters.pop("before", None)
    after, before = _cursor(query, "after"), _cursor(query, "before")
    forward, backward = ("-id", "id") if newest_first else ("id", "-id")
    if before is not None:
        earlier = queryset.filter(**{"id__gt" if newest_first else "id__lt": before})
        rows = list(earlier.order_by(backward)[: size + 1])
        has_previous = len(rows) > size
        rows = rows[:size][::-1]
        has_next = True  # the row named by the cursor follows this page
    else:
        if after is not None:
            queryset = queryset.filter(**{"id__lt" if newest_first else "id__gt": after})
        rows = list(queryset.order_by(forward)[: size + 1])
        has_next = len(rows) > size
        rows = rows[:size]
        has_previous = after is not None
    previous_cursor = ""
    if has_previous:
        previous_cursor = str(rows[0].pk) if rows else str(after)
    next_cursor = str(rows[-1].pk) if has_next and rows else ""
    return KeysetPage(rows, next_cursor, previous_cursor, filters.urlencode())
