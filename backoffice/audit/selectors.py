"""Reading the audit trail page by page, newest first, without counting the whole table."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q

from backoffice.audit.models import AuditEvent

PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditFilters:
    actor: str = ""
    action: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    next_cursor: str  # "" on the last page


def audit_events_page(*, filters: AuditFilters, cursor: str = "") -> AuditPage:
    """One page of events. `cursor` is the "<id>" of the last event of the previous page: keyset
    pagination costs the same on page 1 and page 10,000."""
    events = AuditEvent.objects.select_related("actor").order_by("-id")
    if filters.actor:
        events = events.filter(actor_label=filters.actor)
    if filters.action:
        events = events.filter(
            Q(action=filters.action) | Q(action__startswith=f"{filters.action}.")
        )
    if filters.date_from:
        events = events.filter(occurred_at__date__gte=filters.date_from)
    if filters.date_to:
        events = events.filter(occurred_at__date__lte=filters.date_to)
    if cursor.isdigit():
        events = events.filter(id__lt=int(cursor))
    rows = list(events[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return AuditPage(events=rows, next_cursor=str(rows[-1].pk) if more else "")
