"""Onboarding's counts on the home page, each a link to the queue filtered to it."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.models import User
from django.urls import reverse

from backoffice.home import WorkCount
from backoffice.identity.permissions import has_permission
from participants import selectors


def counts(*, user: User) -> list[WorkCount]:
    found = selectors.work_counts(user=user)
    queue = reverse("participants:queue")
    # Held duplicates wait for whoever may release or withdraw them, and for nobody else.
    held = has_permission(user, "participants.review_duplicate")
    return [
        WorkCount("Onboarding", label, found[key], f"{queue}?{urlencode(query)}")
        for key, label, query in (
            ("mine", "assigned to me", {"assignee": "me"}),
            ("overdue", "overdue", {"overdue": "1"}),
            ("held_duplicate", "held as possible duplicates", {"status": "held_duplicate"}),
            ("failed", "failed sends", {"status": "failed"}),
            ("exchange", "waiting on the exchange", {"status": "exchange"}),
        )
        if key != "held_duplicate" or held
    ]
