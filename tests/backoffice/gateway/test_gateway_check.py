"""`manage.py gateway_check`: who we are at the exchange, or what is wrong, and a non-zero exit."""

from __future__ import annotations

import email.utils
import io
import time

import pytest
from django.core.management import CommandError, call_command

from backoffice.gateway.errors import ConnectionFailed, TlsFailed
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


def refusing(fake, status: int, error: str, description: str) -> None:
    fake.token_script = [Reply(status, {"error": error, "error_description": description})]


def test_a_bad_key_is_diagnosed_quoting_the_server(check, make_gateway, other_key, fake):
    with pytest.raises(CommandError) as caught:
        check(make_gateway(keys=[other_key]))

    assert str(caught.value) == (
        "bad key: the assertion's signature matches no public key registered for client id "
        f"'{CLIENT_ID}' in sandbox. Check POLYMARKET_PRIVATE_KEY_FILE, or that the client id "
        "belongs to this environment. The server said: invalid_client: Invalid signature"
    )
    assert fake.api_requests() == []


def test_an_unknown_client_is_diagnosed(check, gateway, fake):
    refusing(fake, 401, "invalid_client", "Unknown client")

    with pytest.raises(CommandError) as caught:
        check(gateway)

    assert str(caught.value) == (
        f"unknown client: the token server does not know client id '{CLIENT_ID}' in sandbox. "
        "Check POLYMARKET_CLIENT_ID (one per environment). The server said: invalid_client: "
        "Unknown client"
    )


def test_a_wrong_audience_is_diagnosed_with_the_servers_description(check, gateway, fake):
    refusing(fake, 403, "access_denied", f"Service not found: {BASE_URL}")

    with pytest.raises(CommandError) as caught:
        check(gateway)

    assert str(caught.value) == (
        f"wrong audience: the token server knows no API '{BASE_URL}'. Set POLYMARKET_AUDIENCE "
        "(or POLYMARKET_API_URL) to the API it serves. The server said: access_denied: Service "
        f"not found: {BASE_URL}"
    )


def test_any_other_denial_quotes_the_server(check, gateway, fake):
    refusing(fake, 403, "access_denied", "Client has been disabled")

    with pytest.raises(CommandError) as caught:
        check(gateway)

    assert str(caught.value) == (
        f"access denied: client '{CLIENT_ID}' may not use the API '{BASE_URL}'. The server said: "
        "access_denied: Client has been disabled"
    )


def test_a_client_without_the_grant_is_diagnosed(check, gateway, fake):
    refusing(fake, 403, "unauthorized_client", "Grant type 'client_credentials' not allowed")

    with pytest.raises(CommandError, match=r"^client not authorised: .* The server said: "):
        check(gateway)


def test_an_assertion_with_the_wrong_audience_is_diagnosed(check, gateway, fake):
    refusing(fake, 400, "invalid_client_assertion", "aud claim does not match the token endpoint")

    with pytest.raises(CommandError) as caught:
        check(gateway)

    assert str(caught.value).startswith(
        "wrong assertion audience: the signed assertion names "
        "'https://auth.fake.test/oauth/token' as its audience"
    )
    assert str(caught.value).endswith(
        "The server said: invalid_client_assertion: aud claim does not match the token endpoint"
    )


def test_a_missing_scope_is_named_with_what_needs_it(check, gateway, fake):
    fake.on("GET", "/v1/whoami", Reply(body=WHOAMI))
    fake.scope = "read:accounts read:kyc write:kyc read:positions"

    with pytest.raises(CommandError) as caught:
        check(gateway)

    assert str(caught.value) == (
        "missing scope: signed in, but the token lacks write:cash-movements (deposits and "
        "withdrawals); read:orders (open orders); write:orders (cancelling orders); "
        "read:reports (order, execution and trade reports); read:instruments (reference data); "
        "read:dropcopy (the Drop Copy streams). Ask Polymarket to grant them to this client."
    )


def test_whoami_refused_for_want_of_a_scope_is_named(check, gateway, fake):
    fake.on(
        "GET",
        "/v1/whoami",
        Reply(
            403, {"code": 7, "message": "permission denied: missing required scope read:accounts"}
        ),
    )

    with pytest.raises(CommandError) as caught:
        check(gateway)

    assert str(caught.value) == (
        "missing scope: signed in, but whoami was refused (permission denied: missing required "
        "scope read:accounts); the token needs read:accounts."
    )


def test_a_token_the_api_refuses_points_at_the_audience(check, gateway, fake):
    fake.on("GET", "/v1/whoami", Reply(401, {"code": 16, "message": "invalid audience"}))

    with pytest.raises(CommandError) as caught:
        check(gateway)

    assert str(caught.value) == (
        "signed in, but the API refused the token even after renewing it: the token server "
        f"issues tokens for '{BASE_URL}', which this API does not accept (invalid audience)."
    )


def test_a_tls_failure_at_the_token_server_is_diagnosed(check, gateway, fake):
    fake.token_script = [Reply(error=TlsFailed("SSLError: SSLCertVerificationError"))]

    with pytest.raises(CommandError) as caught:
        check(gateway)

    assert str(caught.value) == (
        "TLS failure: the certificate of auth.fake.test does not verify (SSLError: "
        "SSLCertVerificationError). Check POLYMARKET_CA_BUNDLE (the CA that signed it) and that "
        "the address is the right one."
    )


def test_a_tls_failure_at_the_api_is_diagnosed(check, gateway, fake):
    fake.on("GET", "/v1/whoami", Reply(error=TlsFailed("SSLError: SSLCertVerificationError")))

    with pytest.raises(CommandError, match=r"^TLS failure: the certificate of api.fake.test"):
        check(gateway)


def test_an_unreachable_api_is_diagnosed(check, gateway, fake):
    fake.on("GET", "/v1/whoami", Reply(error=ConnectionFailed("NewConnectionError", reached=False)))

    with pytest.raises(CommandError) as caught:
        check(gateway)

    assert (
        str(caught.value) == "unreachable host: api.fake.test did not answer (NewConnectionError)."
    )


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
