"""What every changelist of a large table needs: a count that does not read the whole table, and
a search that an index can answer; and record pages that link only to what the reader may open."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cached_property
from typing import Any, TypeVar
from urllib.parse import quote as url_quote

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.admin.utils import quote
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db import connections, router
from django.db.models import Model, Q, QuerySet
from django.db.models.deletion import Collector, ProtectedError, RestrictedError
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import RFC3986_SUBDELIMS

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
_KEY = "~key~"  # stands for a row's key in its change URL, reversed once a page


class RowLinksOnceChangeList(ChangeList):
    """A changelist whose row links cost a string join each. Django reverses every row's change
    URL, and then, to carry the page's filters into it, resolves that URL again to learn whether
    it is the changelist's own (it never is): a third of a millisecond a row, most of the time a
    page of 100 rows spends on its links. Here the URL is reversed once a page and completed with
    each row's key, the filters already in it, so the links are the ones Django writes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        filters = self.preserved_filters
        # Read by items_for_result for each row's link alone: the links below already carry them.
        self.preserved_filters = ""
        name = f"admin:{self.opts.app_label}_{self.opts.model_name}_change"
        before, _, after = reverse(
            name, args=(_KEY,), current_app=self.model_admin.admin_site.name
        ).partition(_KEY)
        self._row_link = (before, f"{after}?{filters}" if filters else after)

    def url_for_result(self, result: Model) -> str:
        # reverse() quotes the argument as a URL path segment; the admin's quote() comes first.
        key = url_quote(
            str(quote(getattr(result, self.pk_attname))), safe=RFC3986_SUBDELIMS + "/~:@"
        )
        before, after = self._row_link
        return f"{before}{key}{after}"


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

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return RowLinksOnceChangeList

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


def can_delete(obj: Model) -> bool:
    """Whether deleting `obj` would go through: no protected record refers to it (a firm with
    participants, a staff user who submitted or approved anything). Asks the database the same
    questions a delete would, without deleting."""
    collector = Collector(using=router.db_for_write(type(obj)), origin=obj)
    try:
        collector.collect([obj])
    except (ProtectedError, RestrictedError):
        return False
    return True


class OnlyDeletableDeleted:
    """An admin whose Delete button, and delete page, exist only for a record that can go: for any
    other the delete can only fail, and a refused link is never offered."""

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        allowed: bool = super().has_delete_permission(request, obj)  # type: ignore[misc]
        return allowed and (obj is None or can_delete(obj))


class ReadOnlyLargeTableAdmin(LargeTableAdmin[_M]):
    """Evidence (audit events, exchange calls, KYC records): shown, never added, changed or deleted
    in the admin. Changes go through services, which audit them."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: _M | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: _M | None = None) -> bool:
        return False

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any
    ) -> HttpResponse:
        form = context["adminform"]
        context["adminform"] = _PermittedLinksForm(
            request,
            form.form,
            form.fieldsets,
            {},
            readonly_fields=form.readonly_fields,
            model_admin=form.model_admin,
        )
        return super().render_change_form(request, context, *args, **kwargs)


# Django's record page links every foreign key shown read-only to that record's admin page, whether
# or not the reader may open it (a KYC note's author to the staff users, a participant to the
# firm): a link that can only be refused. These carry the request down to the field, which then
# links only where the reader may view the record and shows plain text elsewhere.
class _PermittedLinksForm(helpers.AdminForm):
    def __init__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request

    def __iter__(self) -> Iterator[helpers.Fieldset]:
        for name, options in self.fieldsets:
            yield _PermittedLinksFieldset(
                self.request,
                self.form,
                name,
                readonly_fields=self.readonly_fields,
                model_admin=self.model_admin,
                **options,
            )


class _PermittedLinksFieldset(helpers.Fieldset):
    def __init__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request

    def __iter__(self) -> Iterator[helpers.Fieldline]:
        for field in self.fields:  # type: ignore[attr-defined]  # set by Fieldset, not in its stub
            yield _PermittedLinksFieldline(
                self.request, self.form, field, self.readonly_fields, model_admin=self.model_admin
            )


class _PermittedLinksFieldline(helpers.Fieldline):
    def __init__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request

    def __iter__(self) -> Iterator[helpers.AdminField | helpers.AdminReadonlyField]:
        for i, field in enumerate(self.fields):
            if field in self.readonly_fields:
                yield _PermittedLinkField(
                    self.request, self.form, field, is_first=(i == 0), model_admin=self.model_admin
                )
            else:
                yield helpers.AdminField(self.form, field, is_first=(i == 0))


class _PermittedLinkField(helpers.AdminReadonlyField):
    def __init__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request

    def get_admin_url(self, remote_field: Any, remote_obj: Any) -> str:
        assert self.model_admin is not None  # a record page's fields always have their admin
        try:
            target = self.model_admin.admin_site.get_model_admin(remote_field.model)
        except NotRegistered:
            return str(remote_obj)
        if not target.has_view_permission(self.request, remote_obj):
            return str(remote_obj)
        link: str = super().get_admin_url(remote_field, remote_obj)  # type: ignore[misc]
        return link
