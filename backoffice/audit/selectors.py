"""Reading the audit trail: newest first, page by page, without counting the whole table."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils import timezone

from backoffice.audit.models import AuditEvent
from backoffice.paging import KeysetPage, keyset_page

PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditFilters:
    actor: str = ""
    action: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def audit_events(*, filters: AuditFilters) -> QuerySet[AuditEvent]:
    """The events that match `filters`, in no particular order (pages and exports choose)."""
    events = AuditEvent.objects.select_related("actor")
    if filters.actor:
        events = events.filter(actor_label=filters.actor)
    if filters.action:
        events = events.filter(
            Q(action=filters.action) | Q(action__startswith=f"{filters.action}.")
        )
    # Days of the display time zone, as instants, so that the occurred_at index serves them.
    if filters.date_from:
        events = events.filter(occurred_at__gte=_midnight(filters.date_from))
    if filters.date_to:
        events = events.filter(occurred_at__lt=_midnight(filters.date_to + dt.timedelta(days=1)))
    return events


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=timezone.get_current_timezone())


def audit_events_page(*, filters: AuditFilters, query: QueryDict) -> KeysetPage[AuditEvent]:
    """One page of events, newest first, by keyset (see backoffice.paging)."""
    return keyset_page(
        audit_events(filters=filters), query=query, size=PAGE_SIZE, newest_first=True
    )
