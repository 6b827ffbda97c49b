"""Treasury's counts on the home page: one read of the open requests."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.urls import reverse

from backoffice.home import WorkCount
from funding import selectors


def counts(*, user: User) -> list[WorkCount]:
    found = selectors.queue_counts(user=user)
    queue = reverse("funding:queue")
    return [
        WorkCount("Funding", label, found[view], f"{queue}?view={view}")
        for view, label in (
            ("mine", "awaiting my approval"),
            ("attention", "needing attention"),
            ("flight", "in flight"),
        )
    ]
