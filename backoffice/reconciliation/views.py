"""The reconciliation pages: the dashboard, the breaks and one break (assign, comment, resolve),
and a run's breaks as CSV."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from backoffice import clock
from backoffice.htmx import render_page
from backoffice.http import HtmxHttpRequest
from backoffice.identity.permissions import has_permission, permission_required
from backoffice.reconciliation import selectors, services
from backoffice.reconciliation.charts import open_breaks_chart
from backoffice.reconciliation.checks import check_labels
from backoffice.reconciliation.errors import ReconciliationError
from backoffice.reconciliation.forms import AssignForm, BreakFilterForm, CommentForm, ResolveForm
from backoffice.reconciliation.models import Break, ReconciliationRun

VIEW = "reconciliation.view_break"
WORK = services.WORK


def _user(request: HtmxHttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # LoginRequiredMiddleware lets no one else through
    return user


@require_GET
@permission_required(VIEW)
def dashboard(request: HtmxHttpRequest) -> HttpResponse:
    figures = selectors.dashboard()
    return render(
        request,
        "reconciliation/dashboard.html",
        {
            "figures": figures,
            "chart": open_breaks_chart(selectors.chart_runs()),
            "sla_hours": selectors.sla().total_seconds() // 3600,
        },
    )


@require_GET
@permission_required(VIEW)
def breaks(request: HtmxHttpRequest) -> HttpResponse:
    """Breaks by status, type, age, assignee and run, newest first; htmx swaps the results."""
    form = BreakFilterForm(request.GET)
    page = None
    if form.is_valid():
        filters = selectors.BreakFilters(**form.cleaned_data)
        page = selectors.breaks_page(filters=filters, user=_user(request), query=request.GET)
    context = {"form": form, "page": page, "now": timezone.now(), "sla": selectors.sla()}
    return render_page(
        request, "reconciliation/breaks.html", context, partial="results", target="results"
    )


def _break(pk: int) -> Break:
    return get_object_or_404(
        Break.objects.select_related("assignee", "first_run", "last_run", "resolved_by"), pk=pk
    )


@require_GET
@permission_required(VIEW)
def break_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _break(pk))


def _detail(
    request: HtmxHttpRequest, item: Break, *, forms: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    user = _user(request)
    can_work = has_permission(user, WORK)
    context: dict[str, Any] = {
        "item": item,
        "events": list(item.events.select_related("actor")),
        "check_label": check_labels().get(item.check_name, item.check_name),
        "overdue": selectors.is_overdue(item),
        "can_work": can_work and item.is_open,
        "can_comment": can_work,
        "workers": list(selectors.break_workers()) if can_work and item.is_open else [],
        "assign_form": AssignForm(),
        "comment_form": CommentForm(),
        "resolve_form": ResolveForm(),
        **(forms or {}),
    }
    return render(request, "reconciliation/break.html", context, status=status)


def _refused(
    request: HtmxHttpRequest, item: Break, name: str, form: Any, exc: ReconciliationError
) -> HttpResponse:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    return _detail(request, item, forms={name: form}, status=400)


@require_POST
@permission_required(WORK)
def assign(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    item = _break(pk)
    form = AssignForm(request.POST)
    if not form.is_valid():
        return _detail(request, item, forms={"assign_form": form}, status=400)
    assignee = None
    if form.cleaned_data["assignee"] is not None:
        assignee = selectors.break_workers().filter(pk=form.cleaned_data["assignee"]).first()
        if assignee is None:
            form.add_error("assignee", "That person cannot work breaks.")
            return _detail(request, item, forms={"assign_form": form}, status=400)
    try:
        services.break_assign(break_record=item, assignee=assignee, actor=_user(request))
    except ReconciliationError as exc:
        return _refused(request, item, "assign_form", form, exc)
    messages.success(request, f"Assigned to {assignee.get_username() if assignee else 'nobody'}.")
    return redirect("reconciliation:break", pk=item.pk)


@require_POST
@permission_required(WORK)
def comment(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    item = _break(pk)
    form = CommentForm(request.POST)
    if not form.is_valid():
        return _detail(request, item, forms={"comment_form": form}, status=400)
    try:
        services.break_comment(
            break_record=item, text=form.cleaned_data["text"], actor=_user(request)
        )
    except ReconciliationError as exc:
        return _refused(request, item, "comment_form", form, exc)
    messages.success(request, "Comment added.")
    return redirect("reconciliation:break", pk=item.pk)


@require_POST
@permission_required(WORK)
def resolve(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    item = _break(pk)
    form = ResolveForm(request.POST)
    if not form.is_valid():
        return _detail(request, item, forms={"resolve_form": form}, status=400)
    try:
        services.break_resolve(
            break_record=item,
            resolution=form.cleaned_data["resolution"],
            note=form.cleaned_data["note"],
            funding_request=form.cleaned_data["funding_request"],
            actor=_user(request),
        )
    except ReconciliationError as exc:
        return _refused(request, item, "resolve_form", form, exc)
    messages.success(request, f"Break #{item.pk} resolved.")
    return redirect("reconciliation:break", pk=item.pk)


CSV_HEADER = [
    "break", "check", "type", "status", "account", "subject", "unit", "ours", "theirs",
    "difference", "summary", "first_date", "last_date", "opened_at_utc", "closed_at_utc",
    "assignee", "resolution", "evidence",
]  # fmt: skip


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_rows(run: ReconciliationRun) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    for b in selectors.run_breaks(run):
        yield writer.writerow([
            b.pk, b.check_name, b.break_type, b.status, b.account, b.subject, b.unit,
            "" if b.ours is None else b.ours, "" if b.theirs is None else b.theirs,
            "" if b.difference is None else b.difference, b.summary, b.first_date, b.last_date,
            clock.export_utc(b.opened_at), clock.export_utc(b.closed_at),
            b.assignee.get_username() if b.assignee else "", b.resolution,
            "; ".join(f"{k}={v}" for k, v in sorted(b.evidence.items())),
        ])  # fmt: skip


@require_GET
@permission_required(VIEW)
def run_export(request: HtmxHttpRequest, pk: int) -> StreamingHttpResponse:
    """Every break a run found or closed, as CSV (times in UTC, as the headers say)."""
    run = ReconciliationRun.objects.filter(pk=pk).first()
    if run is None:
        raise Http404("No such run.")
    response = StreamingHttpResponse(_csv_rows(run), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="reconciliation-run-{run.pk}-{run.business_date}.csv"'
    )
    return response
