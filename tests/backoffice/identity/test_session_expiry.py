"""The idle and absolute limits of a session hold to the second, are audited and are explained;
a session is good only in the sign-in mode that created it."""

from __future__ import annotations

import datetime as dt
import types

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from backoffice.audit.models import AuditEvent

START = 1_900_000_000.0


class Clock:
    """One clock for our limits and for Django's own session expiry, moved by the test."""

    def __init__(self) -> None:
        self.now = START

    def time(self) -> float:
        return self.now

    def datetime(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.now, tz=dt.UTC)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr("backoffice.identity.middleware.now", clock.time)
    shim = types.SimpleNamespace(now=clock.datetime)
    monkeypatch.setattr("django.contrib.sessions.backends.base.timezone", shim)
    monkeypatch.setattr("django.contrib.sessions.backends.db.timezone", shim)
    return clock


def expiries() -> list[dict]:
    return list(
        AuditEvent.objects.filter(action="identity.session.expired")
        .order_by("id")
        .values_list("payload", flat=True)
    )


def signed_out_with(client: Client, message: str) -> None:
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/signin/")
    assert message in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_person_active_more_often_than_the_idle_limit_stays_signed_in(persona, settings, clock):
    settings.SESSION_IDLE_TIMEOUT_SECONDS = 3
    client = persona("support")

    for _ in range(8):  # twelve seconds, a request every one and a half
        clock.now += 1.5
        assert client.get("/").status_code == 200

    assert expiries() == []


def test_the_idle_limit_holds_to_the_second_and_is_audited_and_explained(persona, settings, clock):
    settings.SESSION_IDLE_TIMEOUT_SECONDS = 3
    client = persona("support")
    clock.now += 2
    assert client.get("/").status_code == 200

    clock.now += 2.999
    assert client.get("/").status_code == 200
    clock.now += 3

    signed_out_with(client, "Your session ended after 3 seconds without activity.")
    assert expiries() == [{"limit": "idle"}]
    assert AuditEvent.objects.get(action="identity.session.expired").actor_label == (
        "support-persona"
    )


def test_the_absolute_limit_holds_to_the_second_however_active_the_person(persona, settings, clock):
    settings.SESSION_ABSOLUTE_TIMEOUT_SECONDS = 10
    client = persona("support")
    for _ in range(9):
        clock.now += 1
        assert client.get("/").status_code == 200
    clock.now += 0.999
    assert client.get("/").status_code == 200

    clock.now += 0.001

    signed_out_with(client, "Your session reached its limit of 10 seconds after sign-in.")
    assert expiries() == [{"limit": "absolute"}]


def test_the_stored_session_outlives_the_absolute_limit_so_its_end_is_audited(persona, clock):
    client = persona("support")
    clock.now += 12 * 60 * 60 + 60  # past the default 12 hours, with no request in between

    signed_out_with(client, "Your session reached its limit of 12 hours after sign-in.")
    assert expiries() == [{"limit": "absolute"}]


def test_the_default_limits_are_thirty_minutes_idle_and_twelve_hours(persona, clock):
    client = persona("support")
    clock.now += 29 * 60 + 59
    assert client.get("/").status_code == 200
    clock.now += 30 * 60

    signed_out_with(client, "Your session ended after 30 minutes without activity.")


def test_a_forged_or_foreign_last_seen_cookie_counts_for_nothing(persona, settings, clock):
    settings.SESSION_IDLE_TIMEOUT_SECONDS = 3
    client = persona("support")
    other = persona("treasury")
    clock.now += 2
    other.get("/")  # a genuine cookie, but signed for another session
    client.cookies["backoffice_last_seen"] = other.cookies["backoffice_last_seen"].value
    clock.now += 1.5

    signed_out_with(client, "without activity")


def test_a_session_made_in_another_sign_in_mode_is_ended_and_audited(persona, settings):
    settings.SSO_MODE = "local"
    client = persona("support")  # a password session, say from a demo instance on this database
    settings.SSO_MODE = "header"

    response = client.get("/")

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    ended = AuditEvent.objects.get(action="identity.session.ended")
    assert ended.payload == {"reason": "other_sign_in_mode", "mode": "local"}
    assert ended.actor_label == "support-persona"


def test_sessions_remember_the_mode_that_made_them(persona, settings):
    client = persona("support")

    assert client.session["_backoffice_sign_in_mode"] == "header"
    assert Session.objects.count() == 1
