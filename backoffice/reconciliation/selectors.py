"""Reading breaks and runs: the breaks page (keyset, newest first, a fixed number of queries),
the dashboard's figures, a run's CSV, a participant's open breaks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Count, Q, QuerySet
from django.http import QueryDict
from django.utils import timezone

from backoffice.paging import KeysetPage, keyset_page
from backoffice.reconciliation.models import Break, BreakStatus, ReconciliationRun

PAGE_SIZE = 50
# (label, lower bound in days, upper bound in days or None)
AGE_BUCKETS = [
    ("under 1 day", 0, 1),
    ("1-3 days", 1, 3),
    ("3-7 days", 3, 7),
    ("over 7 days", 7, None),
]


def sla() -> dt.timedelta:
    return dt.timedelta(hours=settings.RECONCILIATION_SLA_HOURS)


def is_overdue(item: Break, now: dt.datetime | None = None) -> bool:
    return item.is_open and (now or timezone.now()) - item.opened_at > sla()


@dataclass(frozen=True)
class BreakFilters:
    status: str = BreakStatus.OPEN
    break_type: str = ""
    age: str = ""  # "", a number of days (opened at least that long ago), or "overdue"
    assignee: str = ""  # "", "me", "none", or a user id
    run: int | None = None  # found (first or again) by that run
    account: str = ""


def breaks(*, filters: BreakFilters, user: User) -> QuerySet[Break]:
    found = Break.objects.select_related("assignee", "last_run")
    if filters.status:
        found = found.filter(status=filters.status)
    if filters.break_type:
        found = found.filter(break_type=filters.break_type)
    if filters.age == "overdue":
        found = found.filter(opened_at__lt=timezone.now() - sla())
    elif filters.age:
        found = found.filter(opened_at__lte=timezone.now() - dt.timedelta(days=int(filters.age)))
    if filters.assignee == "me":
        found = found.filter(assignee=user)
    elif filters.assignee == "none":
        found = found.filter(assignee__isnull=True)
    elif filters.assignee:
        found = found.filter(assignee_id=int(filters.assignee))
    if filters.run is not None:
        found = found.filter(Q(last_run_id=filters.run) | Q(first_run_id=filters.run))
    if filters.account:
        found = found.filter(account=filters.account)
    return found


def breaks_page(*, filters: BreakFilters, user: User, query: QueryDict) -> KeysetPage[Break]:
    return keyset_page(
        breaks(filters=filters, user=user), query=query, size=PAGE_SIZE, newest_first=True
    )


def break_workers() -> QuerySet[User]:
    """Who may be given a break: active staff holding the permission to work one."""
    holds = Q(
        groups__permissions__codename="work_break",
        groups__permissions__content_type__app_label="reconciliation",
    )
    return (
        User.objects.filter(holds | Q(is_superuser=True), is_active=True)
        .distinct()
        .order_by("username")
    )


@dataclass(frozen=True)
class Dashboard:
    runs: list[ReconciliationRun]
    by_type: list[tuple[str, int]]  # (label, open breaks)
    by_age: list[tuple[str, int]]
    open_total: int
    overdue: int
    unassigned: int


def dashboard() -> Dashboard:
    now = timezone.now()
    open_breaks = Break.objects.filter(status=BreakStatus.OPEN)
    ages = {
        f"age{i}": Count("id", filter=_age_q(now, low, high))
        for i, (_, low, high) in enumerate(AGE_BUCKETS)
    }
    totals = open_breaks.aggregate(
        total=Count("id"),
        overdue=Count("id", filter=Q(opened_at__lt=now - sla())),
        unassigned=Count("id", filter=Q(assignee__isnull=True)),
        **ages,
    )
    labels = dict(Break.Type.choices)
    by_type = [
        (labels[row["break_type"]], row["n"])
        for row in open_breaks.values("break_type").annotate(n=Count("id")).order_by("break_type")
    ]
    return Dashboard(
        runs=list(ReconciliationRun.objects.order_by("-id")[:10]),
        by_type=by_type,
        by_age=[(label, totals[f"age{i}"]) for i, (label, _, _) in enumerate(AGE_BUCKETS)],
        open_total=totals["total"],
        overdue=totals["overdue"],
        unassigned=totals["unassigned"],
    )


def _age_q(now: dt.datetime, low: int, high: int | None) -> Q:
    q = Q(opened_at__lte=now - dt.timedelta(days=low))
    if high is not None:
        q &= Q(opened_at__gt=now - dt.timedelta(days=high))
    return q


def chart_runs(limit: int = 30) -> list[ReconciliationRun]:
    """The latest finished runs, oldest first: their open breaks by type over time."""
    finished = ReconciliationRun.objects.exclude(state=ReconciliationRun.State.RUNNING)
    return list(
        finished.order_by("-id").only("id", "business_date", "open_by_type", "state")[:limit]
    )[::-1]


def run_breaks(run: ReconciliationRun) -> Iterable[Break]:
    """Every break a run found or closed, for its CSV, read in chunks."""
    return (
        Break.objects.filter(Q(last_run=run) | Q(first_run=run) | Q(closed_by_run=run))
        .select_related("assignee")
        .order_by("id")
        .iterator(chunk_size=2000)
    )


def open_breaks_of(accounts: Iterable[str]) -> list[Break]:
    """A participant's open breaks (their accounts'), newest first."""
    return list(
        Break.objects.filter(status=BreakStatus.OPEN, account__in=list(accounts))
        .select_related("assignee")
        .order_by("-id")[:50]
    )
