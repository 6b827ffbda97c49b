"""The reconciliation's counts on the home page: one read of the open breaks."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from backoffice.home import WorkCount
from backoffice.reconciliation.models import Break, BreakStatus
from backoffice.reconciliation.selectors import sla


def counts(*, user: User) -> list[WorkCount]:
    found = Break.objects.filter(status=BreakStatus.OPEN).aggregate(
        open=Count("id"),
        mine=Count("id", filter=Q(assignee=user)),
        overdue=Count("id", filter=Q(opened_at__lt=timezone.now() - sla())),
    )
    breaks = reverse("reconciliation:breaks")
    return [
        WorkCount(
            "Reconciliation", "breaks assigned to me", found["mine"], f"{breaks}?assignee=me"
        ),
        WorkCount("Reconciliation", "open breaks", found["open"], breaks),
        WorkCount("Reconciliation", "past the SLA", found["overdue"], f"{breaks}?age=overdue"),
    ]
