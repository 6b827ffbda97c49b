"""Personas: one signed-in client per role, and the helpers most tests share."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import pytest
from django.contrib.auth.models import User
from django.test import Client

from backoffice.audit.models import AuditEvent
from tests.factories import UserFactory


@pytest.fixture
def make_user(db) -> Callable[..., User]:
    def make(username: str, *roles: str) -> User:
        return cast(User, UserFactory(username=username, roles=roles))

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
