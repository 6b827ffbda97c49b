"""The side menu (entries from BACKOFFICE_NAVIGATION that the signed-in person may open) and
whether the top bar offers the search box (BACKOFFICE_SEARCH)."""

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
    entries = []
    for label, url_name, permission in settings.BACKOFFICE_NAVIGATION:
        if permission and not has_permission(user, permission):
            continue
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        active = request.path == url if url == "/" else request.path.startswith(url)
        entries.append({"label": label, "url": url, "active": active})
    if user.is_staff:
        entries.append({"label": "Admin", "url": reverse("admin:index"), "active": False})
    searchable = any(has_permission(user, perm) for _, perm in settings.BACKOFFICE_SEARCH)
    return {"navigation": entries, "search_enabled": searchable}
