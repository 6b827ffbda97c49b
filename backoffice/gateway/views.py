from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from backoffice.gateway.charts import error_rate_chart, latency_chart
from backoffice.gateway.selectors import (
    DEFAULT_WINDOW,
    WINDOWS,
    gateway_health,
    operations_summary,
)
from backoffice.htmx import render_page
from backoffice.http import HtmxHttpRequest
from backoffice.identity.permissions import permission_required
from backoffice.navigation import panels_for


@require_GET
@permission_required("gateway.view_gatewaycall")
def health(request: HtmxHttpRequest) -> HttpResponse:
    """Is the exchange well? Error rate and latency of our calls over time; htmx refreshes the
    charts in place every minute and swaps them when another window is chosen."""
    window_key = request.GET.get("window", DEFAULT_WINDOW)
    if window_key not in WINDOWS:
        window_key = DEFAULT_WINDOW
    report = gateway_health(window_key=window_key)
    context = {
        "health": report,
        "windows": WINDOWS.values(),
        "window_key": window_key,
        "error_chart": error_rate_chart(report.buckets, report.window),
        "latency_chart": latency_chart(report.buckets, report.window),
        "operations": operations_summary(window_key=window_key),
        "zone_name": timezone.localtime().tzname(),
        "panels": panels_for(request.user, settings.EXCHANGE_HEALTH_PANELS),
    }
    return render_page(request, "gateway/health.html", context, partial="report", target="report")
