from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from backoffice.audit.forms import AuditFilterForm
from backoffice.audit.selectors import AuditFilters, audit_events_page
from backoffice.http import HtmxHttpRequest


@require_GET
@permission_required("audit.view_auditevent", raise_exception=True)
def events(request: HtmxHttpRequest) -> HttpResponse:
    """The audit trail, filterable by actor, action and date; htmx swaps in just the table."""
    form = AuditFilterForm(request.GET or None)
    filters = AuditFilters()
    if form.is_valid():
        filters = AuditFilters(**form.cleaned_data)
    page = audit_events_page(filters=filters, cursor=request.GET.get("after", ""))
    querystring = request.GET.copy()
    querystring.pop("after", None)
    context = {"form": form, "page": page, "querystring": querystring.urlencode()}
    template = "audit/events.html#results" if request.htmx else "audit/events.html"
    return render(request, template, context)
