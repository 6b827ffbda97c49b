"""`manage.py gateway_check`: who we are at the exchange, or what is wrong, and a non-zero exit."""

from __future__ import annotations

import email.utils
import io
import time

import pytest
from django.core.management import CommandError, call_command

from backoffice.gateway.errors import ConnectionFailed
from backoffice.gateway.management.commands import gateway_check
from tests.backoffice.gateway.fakes import BASE_URL, CLIENT_ID, Reply

WHOAMI = {
    "user": "firms/ISV-Participant-Acme/users/admin",
    "firm": "ISV-Participant-Acme",
    "firmDisplayName": "Acme Trading",
    "audience": BASE_URL,
    "firmType": "FIRM_TYPE_PARTICIPANT",
}


@pytest.fixture
def check(monkeypatch):
    def run(gateway) -> str:
        monkeypatch.setattr(gateway_check, "get_gateway", lambda: gateway)
        out = io.StringIO()
        call_command("gateway_check", stdout=out)
        return out.getvalue()

    return run


def test_it_signs_in_and_reports_the_firm_lifetime_and_scopes(check, gateway, fake, recorder):
    fake.on("GET", "/v1/whoami", Reply(body=WHOAMI))

    out = check(gateway)

    assert f"Environment:  sandbox ({BASE_URL})" in out
    assert f"Client id:    {CLIENT_ID}" in out
    assert "Firm:         ISV-Participant-Acme (Acme Trading)" in out
    assert "Signed with:  the current key" in out
    assert "Token:        valid 180s" in out
    assert f"Scopes:       {fake.scope}" in out
    assert "OK: signed in and whoami answered." in out
    assert fake.exchanges == 1
    assert {a.context.origin for a in recorder.attempts} == {"command:gateway_check"}


def test_a_wrong_key_is_diagnosed(check, make_gateway, other_key, fake):
    with pytest.raises(CommandError) as caught:
        check(make_gateway(keys=[other_key]))

    assert str(caught.value).startswith("wrong key (invalid_client): the assertion's signature")
    assert fake.api_requests() == []


def test_a_wrong_client_id_is_diagnosed(check, gateway, fake):
    fake.token_script = [
        Reply(401, {"error": "invalid_client", "error_description": "Unknown client"})
    ]

    with pytest.raises(
        CommandError, match=f"wrong client id: the exchange does not know client id '{CLIENT_ID}'"
    ):
        check(gateway)


def test_clock_skew_is_diagnosed(check, gateway, fake):
    fake.date_header = email.utils.formatdate(time.time() + 600, usegmt=True)
    fake.token_script = [
        Reply(400, {"error": "invalid_client_assertion", "error_description": "iat in the future"})
    ]

    with pytest.raises(
        CommandError, match=r"clock skew: this machine's clock is (599|600|601)s behind"
    ):
        check(gateway)


def test_an_unreachable_host_is_diagnosed(check, gateway, fake):
    fake.token_script = [
        Reply(error=ConnectionFailed("ConnectionError: NewConnectionError", reached=False))
    ] * 5

    with pytest.raises(CommandError, match=r"unreachable host: auth.fake.test did not answer"):
        check(gateway)


def test_missing_settings_are_named(check, settings, monkeypatch):
    settings.POLYMARKET_CLIENT_ID = ""
    out = io.StringIO()

    with pytest.raises(CommandError, match=r"not configured: .*POLYMARKET_CLIENT_ID"):
        call_command("gateway_check", stdout=out)
