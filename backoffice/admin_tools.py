"""What every changelist of a large table needs: a count that does not read the whole table, and
a search that an index can answer."""

from __future__ import annotations

import json
from functools import cached_property
from typing import TypeVar

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest

from backoffice import search

# Up to here the count shown is exact; past it, PostgreSQL's estimate (the admin shows a number of
# results and of pages, where "about 850,000" serves as well as the exact figure).
EXACT_COUNT_UP_TO = 10_000
SEARCH_BY_POST_TEMPLATE = "admin/change_list_search_by_post.html"


class EstimatedCountPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        # Development databases (SQLite) are small: count them exactly.
        if not isinstance(queryset, QuerySet) or connections[queryset.db].vendor != "postgresql":
            return super().count
        queryset = queryset.order_by()
        exact = queryset[: EXACT_COUNT_UP_TO + 1].count()
        if exact <= EXACT_COUNT_UP_TO:
            return exact
        plan = json.loads(queryset.explain(format="json"))
        return max(exact, int(plan[0]["Plan"]["Plan Rows"]))


_M = TypeVar("_M", bound=Model)


class LargeTableAdmin(admin.ModelAdmin[_M]):
    """A changelist that costs the same on a thousand rows or a million.

    `search_fields` name identifiers and match them exactly and case-sensitively ("=" prefixes are
    accepted for Django's search box but ignored): Django's own "=" lookup compares UPPER(column),
    which no ordinary index can serve.

    A table that may be searched by personal data sets `search_by_token` and implements
    `search_matching`, and uses SEARCH_BY_POST_TEMPLATE as its `change_list_template`: its search
    box posts the term, which stays in the session, and the changelist's `?q=` carries only a
    token standing for it (backoffice/search.py).
    """

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    search_by_token = False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[_M], search_term: str
    ) -> tuple[QuerySet[_M], bool]:
        term = search_term.strip()
        if not term or not self.search_fields:
            return queryset, False
        if self.search_by_token:
            recalled = search.recall(request, term) if search.is_token(term) else None
            if recalled is None:
                messages.warning(request, "That search has expired: search again with the box.")
                return queryset.none(), False
            return self.search_matching(queryset, recalled), False
        match = Q()
        for field in self.search_fields:
            match |= Q(**{field.lstrip("=^@"): term})
        # Searches follow foreign keys forward only, so no row can appear twice.
        return queryset.filter(match), False

    def search_matching(self, queryset: QuerySet[_M], term: str) -> QuerySet[_M]:
        """The rows `term` finds, for tables with `search_by_token`."""
        raise NotImplementedError(f"{type(self).__name__} sets search_by_token")

    def get_changelist_instance(self, request: HttpRequest) -> ChangeList:
        changelist = super().get_changelist_instance(request)
        if self.search_by_token and changelist.query:
            # The box shows the term searched for; the links keep carrying the token.
            changelist.query = search.recall(request, changelist.query) or ""
        return changelist


class ReadOnlyLargeTableAdmin(LargeTableAdmin[_M]):
    """Evidence (audit events, exchange calls, KYC records): shown, never added, changed or deleted
    in the admin. Changes go through services, which audit them."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: _M | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: _M | None = None) -> bool:
        return False
