"""The side menu (entries from BACKOFFICE_NAVIGATION that the signed-in person may open),
whether the top bar offers the search box (BACKOFFICE_SEARCH), and the panels domain apps add to
shared pages (HOME_PANELS, EXCHANGE_HEALTH_PANELS) that the person may see."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from backoffice.identity.permissions import has_permission


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"navigation": [], "search_enabled": False}
    entries: list[dict[str, Any]] = []
    for label, url_name, permission in settings.BACKOFFICE_NAVIGATION:
        if permission and not has_permission(user, permission):
            continue
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        entries.append({"label": label, "url": url, "active": False})
    # The entry whose address is the longest start of this page's: /onboarding/participants/1/
    # is under Participants, not under Onboarding as well.
    under = [e for e in entries if request.path == e["url"] or _within(request.path, e["url"])]
    if under:
        max(under, key=lambda e: len(e["url"]))["active"] = True
    if user.is_staff:
        entries.append({"label": "Admin", "url": reverse("admin:index"), "active": False})
    searchable = any(has_permission(user, perm) for _, perm in settings.BACKOFFICE_SEARCH)
    return {"navigation": entries, "search_enabled": searchable}


def _within(path: str, url: str) -> bool:
    return url != "/" and path.startswith(url)


def panels_for(user: Any, panels: list[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """The (title, template) of the panels a domain app adds to a page that `user` may see."""
    return [
        (title, template)
        for title, template, permission in panels
        if has_permission(user, permission)
    ]
