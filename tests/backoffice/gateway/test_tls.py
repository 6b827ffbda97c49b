"""The gateway over TLS, as production runs it: against the sandbox serving HTTPS on loopback with a
self-signed certificate, trusted only through POLYMARKET_CA_BUNDLE."""

from __future__ import annotations

import uuid

import pytest
import requests

from backoffice.gateway.client import get_gateway
from backoffice.gateway.errors import Outcome, TlsFailed, TokenExchangeFailed
from sandbox.tls import self_signed
from tests.exchange import point_gateway_at
from tests.sandbox.partner import Partner, new_key, public_pem


@pytest.fixture
def tls_partner(sandbox_factory, tmp_path, settings):
    cert, key = self_signed(tmp_path / "tls")
    server = sandbox_factory(tls_cert=cert, tls_key=key)
    assert server.url.startswith("https://127.0.0.1:")
    firm_key = new_key()
    client_id = "client-" + uuid.uuid4().hex[:12]
    registered = requests.post(
        f"{server.url}/_sandbox/firms",
        json={"firmId": "Secure", "clientId": client_id, "publicKeys": [public_pem(firm_key)]},
        timeout=10,
        verify=str(cert),
    )
    assert registered.status_code == 200, registered.text
    partner = Partner(base=server.url, firm_id="Secure", client_id=client_id, key=firm_key)
    point_gateway_at(settings, partner, tmp_path)
    return partner, cert


def test_the_gateway_signs_in_and_calls_over_tls_trusting_the_named_bundle(
    tls_partner, settings, db
):
    _partner, cert = tls_partner
    settings.POLYMARKET_CA_BUNDLE = str(cert)

    who = get_gateway().whoami(actor=None)

    assert who.firm == "ISV-Participant-Secure"
    assert get_gateway().settings.environment.api_url.startswith("https://")


def test_an_untrusted_certificate_is_a_misconfiguration_and_nothing_is_sent(
    tls_partner, settings, db
):
    settings.POLYMARKET_CA_BUNDLE = ""  # the system's authorities do not know the sandbox's

    with pytest.raises(TokenExchangeFailed) as caught:
        get_gateway().whoami(actor=None)

    assert caught.value.outcome is Outcome.MISCONFIGURED
    assert isinstance(caught.value.cause, TlsFailed)
