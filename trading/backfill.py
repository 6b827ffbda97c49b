"""Repairing a window the executions stream cannot deliver, from the Report API's firm-wide
downloads (one call covers every account of the firm, where the searches would need one call per
participant; both are paced at 12 a minute per firm, a pace every process shares through the
gateway's database-backed rate limiter).

The window is fetched in chunks of TRADING_BACKFILL_CHUNK_HOURS, orders then executions, and each
chunk is applied in one transaction with the gap's progress, so a repair stopped half-way goes on
from where it stopped. Orders come from the orders download (those inserted in the chunk); orders
inserted earlier are moved on by the state and quantities their executions report.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from backoffice.gateway.client import Gateway
from backoffice.gateway.scales import ScaleLookup
from trading import mirror
from trading.lease import fence
from trading.models import FeedGap

METHOD = "orders and executions downloads"


def unfinished_gaps(environment: str, stream: str) -> QuerySet[FeedGap]:
    return FeedGap.objects.filter(
        environment=environment, stream=stream, repaired_at__isnull=True
    ).order_by("window_start")


def backfill_executions(
    *, gap: FeedGap, holder: str, gateway: Gateway, scales: ScaleLookup
) -> FeedGap:
    """Fill `gap` from the downloads, chunk by chunk; return it repaired."""
    chunk = dt.timedelta(hours=float(settings.TRADING_BACKFILL_CHUNK_HOURS))
    start = gap.repaired_through or gap.window_start
    while start < gap.window_end:
        end = min(start + chunk, gap.window_end)
        orders = gateway.download_orders(actor=None, start_time=start, end_time=end)
        executions = gateway.download_executions(
            actor=None, start_time=start, end_time=end, scales=scales
        )
        executions.sort(key=lambda e: (e.transact_time or end, e.id))
        with transaction.atomic(durable=True):
            fence(environment=gap.environment, holder=holder)
            mirror.apply_orders(orders)
            applied = mirror.apply_downloaded_executions(executions)
            FeedGap.objects.filter(pk=gap.pk).update(
                repaired_through=end, rows_repaired=F("rows_repaired") + applied.new, method=METHOD
            )
        start = end
    FeedGap.objects.filter(pk=gap.pk).update(repaired_at=timezone.now(), method=METHOD)
    gap.refresh_from_db()
    return gap
