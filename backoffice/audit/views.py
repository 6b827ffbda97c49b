from __future__ import annotations

from django.http import HttpResponse
from django.views.decorators.http import require_GET

from backoffice.audit.forms import AuditFilterForm
from backoffice.audit.selectors import AuditFilters, audit_events_page
from backoffice.htmx import render_page
from backoffice.http import HtmxHttpRequest
from backoffice.identity.permissions import permission_required


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
    context = {"form": form, "page": page}
    return render_page(request, "audit/events.html", context, partial="results", target="results")
