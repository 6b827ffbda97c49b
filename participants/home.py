"""Onboarding's counts on the home page, each a link to the queue filtered to it."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.models import User
from django.urls import reverse

from backoffice.home import WorkCount
from participants import selectors


def counts(*, user: User) -> list[WorkCount]:
    found = selectors.work_counts(user=user)
    queue = reverse("participants:queue")
    return [
        WorkCount("Onboarding", label, found[key], f"{queue}?{urlencode(query)}")
        for key, label, query in (
            ("mine", "assigned to me", {"assignee": "me"}),
            ("overdue", "overdue", {"overdue": "1"}),
            ("held_duplicate", "held as possible duplicates", {"status": "held_duplicate"}),
            ("failed", "failed sends", {"status": "failed"}),
            ("exchange", "waiting on the exchange", {"status": "exchange"}),
        )
    ]
