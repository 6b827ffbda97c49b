"""The search box in the top bar: one term, looked up by every app that offers a search.

A term may be personal data (an SSN, an email, a name), so it never travels in a URL: the box
posts it, the server keeps it in the session (encrypted with the PII keys) under a random token,
and the results page is `/search/?t=<token>`. The token means nothing outside that session, so
links, browser history and server logs hold no personal data, and Back, Forward and reload still
show the results. The admin's changelists that can be searched by personal data use the same
tokens in place of their `?q=`.

The apps that answer are listed in BACKOFFICE_SEARCH as (dotted path of a provider, permission);
a provider is `search(*, term, user) -> SearchSection | None`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpRequest
from django.utils.module_loading import import_string

from backoffice.identity.permissions import has_permission
from backoffice.pii import crypto

SESSION_KEY = "_backoffice_searches"
# The most recent terms a session keeps; an older token says the search has expired.
KEPT_PER_SESSION = 20
MAX_TERM_LENGTH = 200
TOKEN_PREFIX = "s-"  # noqa: S105 (marks a search token, not a secret)


@dataclass(frozen=True)
class SearchSection:
    """What one app found: `rows`, shown under `title` by `template`."""

    title: str
    template: str
    rows: list[Any]
    # How the term was read, in words: "an id prefix", "an SSN"...
    searched_by: list[str]
    # True when more matched than are shown.
    more: bool = False


Provider = Callable[..., SearchSection | None]


def clean_term(raw: str) -> str:
    return " ".join(raw.split())[:MAX_TERM_LENGTH]


def remember(request: HttpRequest, term: str) -> str:
    """Keeps `term` in the session and returns the token that stands for it."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(12)
    kept: dict[str, str] = dict(request.session.get(SESSION_KEY, {}))
    kept[token] = crypto.encrypt(term)
    request.session[SESSION_KEY] = dict(list(kept.items())[-KEPT_PER_SESSION:])
    return token


def recall(request: HttpRequest, token: str) -> str | None:
    """The term `token` stands for in this session, or None if it is unknown or has expired."""
    stored = request.session.get(SESSION_KEY, {}).get(token)
    if not stored:
        return None
    try:
        return crypto.decrypt(stored)
    except crypto.PiiKeyError:
        return None


def is_token(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX)


def providers_for(user: User) -> list[Provider]:
    return [
        import_string(path)
        for path, permission in settings.BACKOFFICE_SEARCH
        if has_permission(user, permission)
    ]


def run(*, term: str, user: User) -> list[SearchSection]:
    sections = (provider(term=term, user=user) for provider in providers_for(user))
    return [section for section in sections if section is not None]
