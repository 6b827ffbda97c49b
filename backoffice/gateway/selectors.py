"""How the exchange has been behaving: error rate and latency percentiles over time.

One aggregate query per page, whatever the number of calls: the database groups attempts by time
bucket and by latency band (a fixed histogram), and the percentiles are read off the histogram, so
they are "at most N ms" figures at the band's upper edge, never a scan of every row in Python.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.db.models.functions import Trunc
from django.utils import timezone

from backoffice.gateway.models import GatewayCall

# Upper edges (ms) of the latency bands; the last band is "above the last edge".
LATENCY_EDGES_MS = (5, 10, 20, 35, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 1500, 2000, 3000,
                    5000, 10000, 20000, 35000)  # fmt: skip
OVERFLOW_MS = 60000


@dataclass(frozen=True)
class Window:
    key: str
    label: str
    span: dt.timedelta
    step: dt.timedelta
    trunc: str  # Trunc kind of one bucket


WINDOWS = {
    "1h": Window("1h", "Last hour", dt.timedelta(hours=1), dt.timedelta(minutes=1), "minute"),
    "24h": Window("24h", "Last 24 hours", dt.timedelta(hours=24), dt.timedelta(hours=1), "hour"),
    "7d": Window("7d", "Last 7 days", dt.timedelta(days=7), dt.timedelta(hours=1), "hour"),
    "30d": Window("30d", "Last 30 days", dt.timedelta(days=30), dt.timedelta(days=1), "day"),
}
DEFAULT_WINDOW = "24h"


@dataclass(frozen=True)
class Bucket:
    start: dt.datetime
    calls: int
    errors: int
    p50_ms: int | None
    p95_ms: int | None

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.calls if self.calls else None


@dataclass(frozen=True)
class Health:
    window: Window
    buckets: list[Bucket]
    calls: int
    errors: int
    p50_ms: int | None
    p95_ms: int | None

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.calls if self.calls else None


def _percentile(histogram: list[int], fraction: float) -> int | None:
    total = sum(histogram)
    if not total:
        return None
    needed = fraction * total
    running = 0
    for band, count in enumerate(histogram):
        running += count
        if running >= needed:
            return LATENCY_EDGES_MS[band] if band < len(LATENCY_EDGES_MS) else OVERFLOW_MS
    return OVERFLOW_MS


def _bucket_zone(window: Window) -> dt.tzinfo:
    """Days are the display zone's days; minutes and hours are counted in UTC, where every step
    has the same length (a local hour can repeat or vanish when the clocks change)."""
    return timezone.get_current_timezone() if window.trunc == "day" else dt.UTC


def _bucket_start(moment: dt.datetime, window: Window) -> dt.datetime:
    moment = moment.astimezone(_bucket_zone(window))
    if window.trunc == "minute":
        return moment.replace(second=0, microsecond=0)
    if window.trunc == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    # Wall-clock midnight; adding a day to it (below) lands on the next local midnight.
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def gateway_health(*, window_key: str = DEFAULT_WINDOW, now: dt.datetime | None = None) -> Health:
    window = WINDOWS.get(window_key, WINDOWS[DEFAULT_WINDOW])
    now = now or timezone.now()
    first = _bucket_start(now - window.span, window) + window.step
    band = Case(
        *[When(latency_ms__lte=edge, then=Value(i)) for i, edge in enumerate(LATENCY_EDGES_MS)],
        default=Value(len(LATENCY_EDGES_MS)),
        output_field=IntegerField(),
    )
    rows = (
        GatewayCall.objects.filter(started_at__gte=first, started_at__lte=now)
        .annotate(bucket=Trunc("started_at", window.trunc, tzinfo=_bucket_zone(window)), band=band)
        .values("bucket", "band")
        .annotate(calls=Count("id"), errors=Count("id", filter=~Q(outcome=GatewayCall.OK)))
        .order_by()
    )
    bands = len(LATENCY_EDGES_MS) + 1
    histograms: dict[dt.datetime, list[int]] = {}
    errors: dict[dt.datetime, int] = {}
    for row in rows:
        start = _bucket_start(row["bucket"], window)
        histograms.setdefault(start, [0] * bands)[row["band"]] += row["calls"]
        errors[start] = errors.get(start, 0) + row["errors"]

    buckets = []
    overall = [0] * bands
    start = first
    while start <= now:
        histogram = histograms.get(start, [0] * bands)
        overall = [a + b for a, b in zip(overall, histogram, strict=True)]
        buckets.append(
            Bucket(
                start=start,
                calls=sum(histogram),
                errors=errors.get(start, 0),
                p50_ms=_percentile(histogram, 0.50),
                p95_ms=_percentile(histogram, 0.95),
            )
        )
        start += window.step
    return Health(
        window=window,
        buckets=buckets,
        calls=sum(overall),
        errors=sum(errors.values()),
        p50_ms=_percentile(overall, 0.50),
        p95_ms=_percentile(overall, 0.95),
    )


@dataclass(frozen=True)
class OperationSummary:
    operation: str
    calls: int
    errors: int

    @property
    def error_rate(self) -> float:
        return self.errors / self.calls if self.calls else 0.0


def operations_summary(
    *, window_key: str = DEFAULT_WINDOW, now: dt.datetime | None = None
) -> list[OperationSummary]:
    """Calls and errors per gateway method over the window, most errors first."""
    window = WINDOWS.get(window_key, WINDOWS[DEFAULT_WINDOW])
    now = now or timezone.now()
    rows = (
        GatewayCall.objects.filter(started_at__gte=now - window.span, started_at__lte=now)
        .values("operation")
        .annotate(calls=Count("id"), errors=Count("id", filter=~Q(outcome=GatewayCall.OK)))
        .order_by("-errors", "-calls", "operation")
    )
    return [OperationSummary(row["operation"], row["calls"], row["errors"]) for row in rows]
