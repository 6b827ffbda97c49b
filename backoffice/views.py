"""Platform pages: the home dashboard, search, the health check and the refusal page."""

from __future__ import annotations

import datetime as dt
import time

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, connection
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
    JsonResponse,
    QueryDict,
)
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backoffice import search as search_box
from backoffice.audit.services import audit_record
from backoffice.home import work_counts
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
            "work": work_counts(user),
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


@require_http_methods(["GET", "POST"])
def search(request: HttpRequest) -> HttpResponse:
    """The top bar's search. POST keeps the term under a token and redirects to the results, so
    the term is in no URL; GET shows the results of a token."""
    user = request.user
    assert isinstance(user, User)
    if not search_box.providers_for(user):
        raise PermissionDenied("Your roles do not include any search.")
    if request.method == "POST":
        term = search_box.clean_term(request.POST.get("q", ""))
        if not term:
            return render(request, "search.html", {"term": "", "sections": [], "empty": True})
        token = search_box.remember(request, term)
        return redirect(f"{reverse('search')}?t={token}")
    token = request.GET.get("t", "")
    recalled = search_box.recall(request, token) if token else ""
    if recalled is None:
        return render(request, "search.html", {"term": "", "sections": [], "expired": True})
    term = recalled
    sections = search_box.run(term=term, user=user) if term else []
    return render(request, "search.html", {"term": term, "search_term": term, "sections": sections})


@require_POST
def search_admin(request: HttpRequest) -> HttpResponse:
    """The search box of an admin changelist that can be searched by personal data: the term is
    kept under a token, and the changelist is asked for `?q=<token>` (see LargeTableAdmin)."""
    try:
        changelist = reverse(
            f"admin:{request.POST.get('app', '')}_{request.POST.get('model', '')}_changelist"
        )
    except NoReverseMatch:
        return HttpResponseBadRequest("Name the admin list to search (app and model).")
    query = QueryDict(mutable=True)
    for name in request.POST:
        if name not in {"app", "model", "q", "p", "csrfmiddlewaretoken"}:
            query.setlist(name, request.POST.getlist(name))
    term = search_box.clean_term(request.POST.get("q", ""))
    if term:
        query["q"] = search_box.remember(request, term)
    return redirect(f"{changelist}?{query.urlencode()}" if query else changelist)
