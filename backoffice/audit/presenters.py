"""How events read on the audit page: objects by name with a link to their page, and payloads
that fit the screen, with every long value in full one click away."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import User
from django.urls import NoReverseMatch, reverse

from backoffice.audit.models import AuditEvent
from backoffice.identity.permissions import has_permission

# Longer payload values are cut on the page; the full value is in a <details> beside them.
SHOWN_CHARACTERS = 60


@dataclass(frozen=True)
class PayloadItem:
    key: str
    shown: str
    full: str  # "" when `shown` is the whole value


@dataclass(frozen=True)
class EventRow:
    event: AuditEvent
    object_label: str
    object_url: str
    payload: list[PayloadItem]


def _value_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def payload_items(payload: dict[str, Any]) -> list[PayloadItem]:
    items = []
    for key, value in payload.items():
        text = _value_text(value)
        if len(text) > SHOWN_CHARACTERS:
            items.append(PayloadItem(key, text[: SHOWN_CHARACTERS - 1] + "…", text))
        else:
            items.append(PayloadItem(key, text, ""))
    return items


class ObjectLinks:
    """Names and links for the objects events concern, decided once per object type per page.

    A type listed in AUDIT_OBJECT_PAGES links to its staff page (url name, permission); any other
    model links to its admin page for whoever may view it there. No link is offered to a page the
    reader would be refused."""

    def __init__(self, user: User) -> None:
        self.user = user
        self._types: dict[str, tuple[str, str, bool]] = {}

    def _type(self, object_type: str) -> tuple[str, str, bool]:
        if object_type not in self._types:
            try:
                model = apps.get_model(object_type)
            except (LookupError, ValueError):
                self._types[object_type] = (object_type, "", False)
            else:
                meta = model._meta
                url_name, permission = settings.AUDIT_OBJECT_PAGES.get(
                    object_type,
                    (
                        f"admin:{meta.app_label}_{meta.model_name}_change",
                        f"{meta.app_label}.view_{meta.model_name}",
                    ),
                )
                allowed = has_permission(self.user, permission)
                name = str(meta.verbose_name)
                self._types[object_type] = (name[:1].upper() + name[1:], url_name, allowed)
        return self._types[object_type]

    def label_and_url(self, event: AuditEvent) -> tuple[str, str]:
        if not event.object_type:
            return "", ""
        name, url_name, allowed = self._type(event.object_type)
        label = f"{name} #{event.object_id}"
        if not allowed or not event.object_id:
            return label, ""
        try:
            return label, reverse(url_name, args=[event.object_id])
        except NoReverseMatch:
            return label, ""


def event_rows(events: list[AuditEvent], user: User) -> list[EventRow]:
    links = ObjectLinks(user)
    rows = []
    for event in events:
        label, url = links.label_and_url(event)
        rows.append(EventRow(event, label, url, payload_items(event.payload)))
    return rows
