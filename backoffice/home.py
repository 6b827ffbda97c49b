"""The home page's work counts, from the apps listed in BACKOFFICE_HOME_COUNTS: (dotted path of
a provider `counts(*, user) -> list[WorkCount]`, permission it needs). The platform names no
domain app itself."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.utils.module_loading import import_string

from backoffice.identity.permissions import has_permission


@dataclass(frozen=True)
class WorkCount:
    section: str  # "Funding"
    label: str  # "awaiting my approval"
    count: int
    url: str  # the list the count is of


def work_counts(user: User) -> list[WorkCount]:
    found: list[WorkCount] = []
    for path, permission in settings.BACKOFFICE_HOME_COUNTS:
        if has_permission(user, permission):
            found.extend(import_string(path)(user=user))
    return found
