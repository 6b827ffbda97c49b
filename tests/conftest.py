"""Personas: one signed-in client per role, and the helpers most tests share."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client

from backoffice.audit.models import AuditEvent
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Real hashing costs a third of a second a user; the suite tests sign-in, not PBKDF2."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def make_user(db) -> Callable[..., User]:
    def make(username: str, *roles: str) -> User:
        return UserFactory.create(username=username, roles=roles)

    return make


@pytest.fixture
def persona(db, make_user) -> Callable[[str], Client]:
    """`persona("compliance")` is a client signed in as a user holding just that role."""

    def signed_in(role: str) -> Client:
        client = Client()
        client.force_login(make_user(f"{role}-persona", role))
        return client

    return signed_in


@pytest.fixture
def audit_actions(db) -> Callable[[], list[str]]:
    """The action codes written so far, oldest first."""

    def actions() -> list[str]:
        return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))

    return actions
