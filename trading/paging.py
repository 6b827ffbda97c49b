"""Keyset pages in time order, newest first, both ways: a page is named by the row on its edge
(`after=<time>~<id>`, `before=<time>~<id>`), so page 10,000 costs what page 1 costs and rows that
arrive meanwhile never shift the pages. backoffice.paging does the same in id order, and its
KeysetPage (with its links) is the page here too; the blotter's order is the exchange's time,
with our id to break ties.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

from django.db.models import Model, Q, QuerySet
from django.http import QueryDict

from backoffice.paging import KeysetPage

M = TypeVar("M", bound=Model)


def _parse(text: str) -> tuple[dt.datetime, int] | None:
    moment, _, number = text.partition("~")
    try:
        when = dt.datetime.fromisoformat(moment)
        pk = int(number)
    except ValueError:
        return None
    if when.tzinfo is None or pk < 1:
        return None
    return when, pk


def cursor_of(row: Any, field: str) -> str:
    moment = getattr(row, field).astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return f"{moment}~{row.pk}"


def time_page(queryset: QuerySet[M], *, field: str, query: QueryDict, size: int) -> KeysetPage[M]:
    """One page of `queryset`, newest `field` first (ties by id)."""
    filters = query.copy()
    filters.pop("after", None)
    filters.pop("before", None)
    after = _parse(query.get("after", ""))
    before = _parse(query.get("before", ""))
    if before is not None:
        when, pk = before
        # The bound on the time alone lets the (time, id) index serve the range.
        newer = queryset.filter(**{f"{field}__gte": when}).filter(
            Q(**{f"{field}__gt": when}) | Q(pk__gt=pk)
        )
        rows = list(newer.order_by(field, "pk")[: size + 1])
        has_previous = len(rows) > size
        rows = rows[:size][::-1]
        has_next = True
    else:
        if after is not None:
            when, pk = after
            queryset = queryset.filter(**{f"{field}__lte": when}).filter(
                Q(**{f"{field}__lt": when}) | Q(pk__lt=pk)
            )
        rows = list(queryset.order_by(f"-{field}", "-pk")[: size + 1])
        has_next = len(rows) > size
        rows = rows[:size]
        has_previous = after is not None
    previous_cursor = cursor_of(rows[0], field) if has_previous and rows else ""
    if has_previous and not rows and after is not None:
        previous_cursor = query.get("after", "")
    next_cursor = cursor_of(rows[-1], field) if has_next and rows else ""
    return KeysetPage(rows, next_cursor, previous_cursor, filters.urlencode())
