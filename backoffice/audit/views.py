from __future__ import annotations

import csv
import json
from collections.abc import Iterator

from django.contrib.auth.models import User
from django.http import HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from backoffice import clock
from backoffice.audit.forms import AuditFilterForm
from backoffice.audit.presenters import event_rows
from backoffice.audit.selectors import AuditFilters, audit_events, audit_events_page
from backoffice.audit.services import audit_record
from backoffice.htmx import render_page
from backoffice.http import HtmxHttpRequest
from backoffice.identity.permissions import permission_required

EXPORT_HEADER = [
    "occurred_at_utc",
    "actor",
    "action",
    "object_type",
    "object_id",
    "payload_json",
    "client_ip",
    "request_id",
]


def _user(request: HtmxHttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # the permission check admits no one else
    return user


@require_GET
@permission_required("audit.view_auditevent")
def events(request: HtmxHttpRequest) -> HttpResponse:
    """The audit trail, filterable by actor, action and date; htmx swaps in just the results.

    Filters that do not make sense are refused with their message and no rows: a page of
    unfiltered events under an error would read as the answer to the question asked."""
    form = AuditFilterForm(request.GET)
    page = (
        audit_events_page(filters=AuditFilters(**form.cleaned_data), query=request.GET)
        if form.is_valid()
        else None
    )
    context = {
        "form": form,
        "page": page,
        "rows": event_rows(page.rows, _user(request)) if page else [],
        "zone_name": timezone.localtime().tzname(),
    }
    return render_page(request, "audit/events.html", context, partial="results", target="results")


class _Echo:
    """A file that hands back what is written, so csv.writer can feed a streaming response."""

    def write(self, value: str) -> str:
        return value


@require_GET
@permission_required("audit.view_auditevent")
def export_csv(request: HtmxHttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The events the filters select, newest first, as CSV (times in UTC, payloads as JSON),
    streamed so that size does not matter. The export is itself an audit event."""
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        errors = "; ".join(f"{name}: {' '.join(map(str, e))}" for name, e in form.errors.items())
        return HttpResponseBadRequest(f"The filters are not valid ({errors}); nothing exported.")
    filters = AuditFilters(**form.cleaned_data)
    audit_record(
        actor=_user(request),
        action="audit.exported",
        payload={
            name: str(value) for name, value in form.cleaned_data.items() if value not in ("", None)
        },
    )
    rows = audit_events(filters=filters).order_by("-id").iterator(chunk_size=1000)
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield "\ufeff" + writer.writerow(EXPORT_HEADER)  # a BOM, so spreadsheets read UTF-8
        for event in rows:
            yield writer.writerow(
                [
                    clock.export_utc(event.occurred_at),
                    event.actor_label,
                    event.action,
                    event.object_type,
                    event.object_id,
                    json.dumps(event.payload, sort_keys=True),
                    event.client_ip or "",
                    event.request_id,
                ]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="audit-{timezone.localdate():%Y%m%d}.csv"'
    )
    return response
