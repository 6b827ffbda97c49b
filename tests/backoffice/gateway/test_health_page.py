"""The exchange-health page and the read-only admin of calls."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from backoffice.gateway.models import GatewayCall
from backoffice.gateway.selectors import gateway_health


def call(
    minutes_ago: float, *, latency: int, outcome: str = "ok", operation: str = "whoami", now=None
):
    now = now or timezone.now()
    return GatewayCall(
        started_at=now - dt.timedelta(minutes=minutes_ago),
        environment="sandbox",
        operation=operation,
        method="GET",
        endpoint="/v1/whoami",
        attempt=1,
        http_status=200 if outcome == "ok" else 503,
        outcome=outcome,
        latency_ms=latency,
        origin="system",
    )


def test_buckets_count_errors_and_read_percentiles(db):
    now = dt.datetime(2026, 11, 23, 12, 30, tzinfo=dt.UTC)
    rows = [call(5, latency=40, now=now) for _ in range(18)]
    rows += [
        call(5, latency=900, outcome="Unavailable", now=now),
        call(5, latency=4000, outcome="Timeout", now=now),
    ]
    rows += [call(65, latency=8, now=now)]
    GatewayCall.objects.bulk_create(rows)

    health = gateway_health(window_key="24h", now=now)

    assert len(health.buckets) == 24
    latest, previous = health.buckets[-1], health.buckets[-2]
    assert latest.start == dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC)
    assert (latest.calls, latest.errors, latest.p50_ms, latest.p95_ms) == (20, 2, 50, 1000)
    assert (previous.calls, previous.errors, previous.p50_ms, previous.p95_ms) == (1, 0, 10, 10)
    assert (health.calls, health.errors, health.p50_ms) == (21, 2, 50)
    assert [b.calls for b in health.buckets[:-2]] == [0] * 22


def test_support_sees_the_charts_without_script_or_style(db, persona):
    now = timezone.now()  # both calls in one interval, whatever the time of day
    GatewayCall.objects.bulk_create(
        [call(2, latency=120, now=now), call(2, latency=80, outcome="Unavailable", now=now)]
    )

    response = persona("support").get("/gateway/health/")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('<svg class="chart"') == 2
    assert "<rect " in html
    assert "<polyline " in html
    assert "1 of 2 calls failed (50.0%)" in html
    assert " style=" not in html
    # The only scripts are htmx and the shell's, from our own static files; the charts are SVG.
    assert re.findall(r"<script[^>]*>", html) == [
        '<script src="/static/django_htmx/htmx-2.min.js" defer>',
        '<script src="/static/js/shell.js" defer>',
    ]


def test_htmx_swaps_only_the_report(db, persona):
    response = persona("supervisor").get(
        "/gateway/health/?window=1h", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="report"
    )

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="report"')
    assert '<nav class="sidenav"' not in html
    assert "No calls in this window" in html


@pytest.mark.parametrize("role", ["compliance", "support", "treasury", "supervisor"])
def test_every_role_that_works_an_exchange_outcome_is_offered_the_page(db, persona, role):
    """Compliance retries failed sends, treasury settles cash movements, support cancels orders:
    each must tell whether the exchange is well."""
    client = persona(role)

    assert '<a href="/gateway/health/">Exchange health</a>' in client.get("/").content.decode()
    assert client.get("/gateway/health/").status_code == 200


def test_a_signed_in_user_with_no_role_is_refused_and_not_offered_it(db, make_user):
    client = Client()
    client.force_login(make_user("nobody"))

    assert "/gateway/health/" not in client.get("/").content.decode()
    assert client.get("/gateway/health/").status_code == 403


def test_the_page_costs_the_same_queries_whatever_the_row_count(
    db, persona, django_assert_num_queries
):
    client = persona("support")
    GatewayCall.objects.bulk_create([call(m, latency=m * 3) for m in range(10)])
    client.get("/gateway/health/")
    # session, user, permissions, the two charts' reads; then the streams' panel: the cursors
    # with their events per minute, and the latest gaps with the counts, in one query
    with django_assert_num_queries(6) as few:
        client.get("/gateway/health/")
    GatewayCall.objects.bulk_create([call(m % 1400, latency=m) for m in range(2000)])
    with django_assert_num_queries(len(few.captured_queries)):
        client.get("/gateway/health/")


def test_the_admin_lists_calls_read_only(db, persona):
    admin = persona("superuser")
    row = call(1, latency=5)
    row.save()

    listing = admin.get("/admin/gateway/gatewaycall/?result=ok&operation=whoami")
    change = admin.post(f"/admin/gateway/gatewaycall/{row.pk}/change/", {"outcome": "forged"})

    assert listing.status_code == 200
    assert '<td class="field-operation">whoami</td>' in listing.content.decode()
    assert change.status_code == 403
    assert admin.get("/admin/gateway/gatewaycall/add/").status_code == 403
    row.refresh_from_db()
    assert row.outcome == "ok"


def test_days_are_the_display_zones_days_and_labels_name_the_zone(db, settings, persona):
    settings.TIME_ZONE = "America/New_York"
    now = dt.datetime(2026, 12, 2, 3, 0, tzinfo=dt.UTC)  # 22:00 on Dec 1 in New York
    GatewayCall.objects.bulk_create([call(60, latency=40, now=now)])  # 21:00 New York, Dec 1

    health = gateway_health(window_key="30d", now=now)

    latest = health.buckets[-1]
    assert timezone.localtime(latest.start).isoformat() == "2026-12-01T00:00:00-05:00"
    assert latest.calls == 1
    page = persona("support").get("/gateway/health/").content.decode()
    assert re.search(r"times are E[SD]T\.", page)  # the zone's name today


def test_latency_axis_labels_fit_the_margin():
    from backoffice.gateway.charts import latency_chart
    from backoffice.gateway.selectors import WINDOWS, Bucket

    start = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    chart = latency_chart([Bucket(start, 1, 0, 5000, 9000)], WINDOWS["1h"])

    assert [tick.label for tick in chart.y_ticks] == ["0 ms", "5 s", "10 s"]
