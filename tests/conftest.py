"""Personas: one signed-in client per role, and the helpers most tests share."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from playwright.sync_api import Browser, Page, sync_playwright

from backoffice.audit.models import AuditEvent
from tests.browser import CHROMIUM
from tests.factories import UserFactory

NO_TRUNCATE = "audit_event_no_truncate"


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database as migrations leave it, but for one thing: transactional tests end by
    emptying every table with TRUNCATE, which the audit trail refuses on PostgreSQL (migration
    audit 0003). The suite lets it through; tests/backoffice/audit/test_grants.py turns the
    refusal back on to show it holds."""
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE audit_auditevent DISABLE TRIGGER {NO_TRUNCATE}")


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


@pytest.fixture
def browser(monkeypatch) -> Iterator[Browser]:
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            # No network beyond loopback: Chromium's own background traffic stays off.
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def sso_page(browser, live_server, settings) -> Iterator[Callable[[str, str], Page]]:
    """`sso_page("casey", "backoffice-compliance")` is a page signed in the way production signs
    people in: the SSO proxy's headers, from the proxy's address (here, loopback)."""
    settings.SSO_TRUSTED_PROXIES = ["127.0.0.1/32", "::1/128"]
    contexts = []

    def open_as(username: str, groups: str) -> Page:
        context = browser.new_context(
            extra_http_headers={"X-Forwarded-User": username, "X-Forwarded-Groups": groups}
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield open_as
    for context in contexts:
        context.close()
