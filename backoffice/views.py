"""Platform pages: the home dashboard, the health check and the refusal page."""

from __future__ import annotations

import datetime as dt
import time

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from backoffice.audit.services import audit_record
from backoffice.identity.middleware import SESSION_SIGNED_IN_AT
from backoffice.identity.roles import roles_of


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)  # LoginRequiredMiddleware lets no one else through
    signed_in_at = request.session.get(SESSION_SIGNED_IN_AT, time.time())
    return render(
        request,
        "home.html",
        {
            "roles": sorted(roles_of(user)),
            "sign_in_mode": settings.SSO_MODE,
            "session_ends_at": dt.datetime.fromtimestamp(
                signed_in_at + settings.SESSION_ABSOLUTE_TIMEOUT_SECONDS, tz=dt.UTC
            ),
            "idle_minutes": settings.SESSION_IDLE_TIMEOUT_SECONDS // 60,
        },
    )


@login_not_required
@require_GET
def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """Browsers ask for /favicon.ico whatever the page says; send them to the static one."""
    return HttpResponseRedirect(static("img/favicon.svg"))


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers, 503 when it does not. For the load balancer; no auth."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Every refusal (403) is audited, then explained."""
    audit_record(
        actor=getattr(request, "user", None),
        action="identity.access.refused",
        payload={"path": request.path[:200], "method": request.method or ""},
    )
    message = str(exception) if isinstance(exception, PermissionDenied) and str(exception) else ""
    return render(request, "403.html", {"message": message}, status=403)
