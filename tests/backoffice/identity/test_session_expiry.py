from __future__ import annotations

from django.test import Client

from backoffice.audit.models import AuditEvent
from backoffice.identity.middleware import SESSION_LAST_SEEN, SESSION_SIGNED_IN_AT


def age_session(client: Client, *, signed_in_ago: float, last_seen_ago: float) -> None:
    session = client.session
    session[SESSION_SIGNED_IN_AT] -= signed_in_ago
    session[SESSION_LAST_SEEN] -= last_seen_ago
    session.save()


def test_a_session_idle_past_the_limit_ends(persona, settings):
    client = persona("support")
    age_session(
        client,
        signed_in_ago=settings.SESSION_IDLE_TIMEOUT_SECONDS + 5,
        last_seen_ago=settings.SESSION_IDLE_TIMEOUT_SECONDS + 5,
    )

    response = client.get("/")

    assert response.status_code == 302
    assert AuditEvent.objects.get(action="identity.session.expired").payload == {"limit": "idle"}


def test_an_active_session_still_ends_at_the_absolute_limit(persona, settings):
    client = persona("support")
    age_session(
        client, signed_in_ago=settings.SESSION_ABSOLUTE_TIMEOUT_SECONDS + 5, last_seen_ago=0
    )

    response = client.get("/")

    assert response.status_code == 302
    assert AuditEvent.objects.get(action="identity.session.expired").payload == {
        "limit": "absolute"
    }


def test_a_session_within_both_limits_goes_on(persona, settings):
    client = persona("support")
    age_session(
        client,
        signed_in_ago=settings.SESSION_IDLE_TIMEOUT_SECONDS * 3,
        last_seen_ago=settings.SESSION_IDLE_TIMEOUT_SECONDS - 60,
    )

    assert client.get("/").status_code == 200
    assert client.get("/").status_code == 200  # activity moved the idle clock forward
    assert not AuditEvent.objects.filter(action="identity.session.expired").exists()


def test_the_limits_are_settings(persona, settings):
    settings.SESSION_IDLE_TIMEOUT_SECONDS = 10
    client = persona("support")
    age_session(client, signed_in_ago=11, last_seen_ago=11)

    assert client.get("/").status_code == 302
