"""The firm's token: signed exactly as documented, exchanged once, renewed before it runs out,
renewed once (not once per thread), and renewed once after a 401."""

from __future__ import annotations

import threading
import uuid

import jwt
import pytest

from backoffice.gateway.errors import TokenExchangeFailed, Unauthenticated
from tests.backoffice.gateway.fakes import BASE_URL, CLIENT_ID, TOKEN_URL, Reply

WHOAMI = {"user": "firms/ISV-Participant-Acme/users/admin", "firm": "ISV-Participant-Acme"}


def test_the_assertion_carries_exactly_the_documented_claims(gateway, signing_key):
    assertion = gateway.tokens.assertion(gateway.settings.keys[0])

    header = jwt.get_unverified_header(assertion)
    claims = jwt.decode(
        assertion, signing_key.public_key(), algorithms=["RS256"], audience=TOKEN_URL
    )
    assert header == {"alg": "RS256", "typ": "JWT"}
    assert set(claims) == {"iss", "sub", "aud", "iat", "exp", "jti"}
    assert claims["iss"] == claims["sub"] == CLIENT_ID
    assert claims["aud"] == TOKEN_URL  # the token endpoint, not the API
    assert claims["exp"] - claims["iat"] == 300
    assert uuid.UUID(claims["jti"]).version == 4
    assert gateway.tokens.assertion(gateway.settings.keys[0]) != assertion  # fresh jti each time


def test_the_token_request_is_the_documented_body(gateway, fake):
    fake.on("GET", "/v1/whoami", Reply(body=WHOAMI))

    gateway.whoami(actor=None)

    token_request = fake.requests[0]
    assert token_request.url == TOKEN_URL
    assert token_request.method == "POST"
    assert set(token_request.json) == {
        "client_id", "client_assertion_type", "client_assertion", "audience", "grant_type",
    }  # fmt: skip
    assert token_request.json["client_assertion_type"] == (
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    )
    assert token_request.json["audience"] == BASE_URL
    assert token_request.json["grant_type"] == "client_credentials"


def test_one_token_exchange_serves_many_calls(gateway, fake, clock):
    fake.on("GET", "/v1/whoami", Reply(body=WHOAMI))

    for _ in range(50):
        gateway.whoami(actor=None)
        clock.advance(2)  # 100 s in all: within the 180 s lifetime minus the 30 s margin

    assert fake.exchanges == 1
    assert len(fake.api_requests()) == 50
    tokens = {r.headers["Authorization"] for r in fake.api_requests()}
    assert tokens == {f"Bearer {fake.issued[0]}"}


@pytest.mark.parametrize(
    ("expires_in", "still_cached", "renewed"),
    [(180, 149, 151), (86400, 86369, 86371), (40, 29, 31)],
)
def test_the_token_is_renewed_before_expires_in_runs_out(
    make_gateway, fake, clock, expires_in, still_cached, renewed
):
    fake.expires_in = expires_in  # read from the answer, never assumed
    fake.on("GET", "/v1/whoami", Reply(body=WHOAMI))
    gateway = make_gateway()

    gateway.whoami(actor=None)
    clock.advance(still_cached)
    gateway.whoami(actor=None)
    assert fake.exchanges == 1
    clock.advance(renewed - still_cached)
    gateway.whoami(actor=None)

    assert fake.exchanges == 2
    assert fake.api_requests()[-1].headers["Authorization"] == f"Bearer {fake.issued[1]}"


def test_threads_share_one_renewal(gateway, fake):
    fake.on("GET", "/v1/whoami", Reply(body=WHOAMI))
    fake.token_delay = 0.05  # the first exchange is still in flight while the others ask
    start = threading.Barrier(8)
    errors = []

    def call():
        start.wait()
        try:
            gateway.whoami(actor=None)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert fake.exchanges == 1
    assert len(fake.api_requests()) == 8


def test_a_401_renews_the_token_once_and_retries_once(gateway, fake, recorder):
    fake.on("GET", "/v1/whoami", Reply(body=WHOAMI))
    gateway.whoami(actor=None)
    fake.revoke_all()  # the exchange no longer honours the cached token

    who = gateway.whoami(actor=None)

    assert who.firm == "ISV-Participant-Acme"
    assert fake.exchanges == 2
    steps = [(a.operation, a.attempt, a.http_status, a.outcome) for a in recorder.attempts]
    assert steps == [
        ("token", 1, 200, "ok"),
        ("whoami", 1, 200, "ok"),
        ("whoami", 1, 401, "Unauthenticated"),
        ("token", 1, 200, "ok"),
        ("whoami", 2, 200, "ok"),
    ]


def test_a_second_401_is_final(gateway, fake):
    fake.on("GET", "/v1/whoami", Reply(401, {"code": 16, "message": "token rejected"}))

    with pytest.raises(Unauthenticated) as caught:
        gateway.whoami(actor=None)

    assert caught.value.retryable is False
    assert fake.exchanges == 2
    assert len(fake.api_requests()) == 2


def test_a_rejected_token_is_replaced_once_whoever_reports_it(gateway, fake, recorder):
    context = gateway._context(None)
    first = gateway.tokens.token(context=context, recorder=recorder, policy=gateway.policy)

    renewed = gateway.tokens.renew_after_rejection(
        first, context=context, recorder=recorder, policy=gateway.policy
    )
    again = gateway.tokens.renew_after_rejection(
        first, context=context, recorder=recorder, policy=gateway.policy
    )

    assert renewed is again
    assert fake.exchanges == 2


def test_during_a_rotation_the_next_key_is_tried_and_then_preferred(
    make_gateway, fake, signing_key, other_key
):
    fake.public_keys = [signing_key.public_key()]  # the exchange knows only the new key
    fake.on("GET", "/v1/whoami", Reply(body=WHOAMI))
    gateway = make_gateway(keys=[other_key, signing_key])

    gateway.whoami(actor=None)
    gateway.tokens.forget()
    gateway.whoami(actor=None)

    token_requests = [r for r in fake.requests if r.url == TOKEN_URL]
    assert len(token_requests) == 3  # old key refused, new key, then the new key straight away
    assert (
        gateway.tokens.token(
            context=gateway._context(None), recorder=gateway.recorder, policy=gateway.policy
        ).key_label
        == "next"
    )


def test_a_wrong_key_fails_without_retrying(make_gateway, fake, other_key, recorder):
    gateway = make_gateway(keys=[other_key])

    with pytest.raises(TokenExchangeFailed) as caught:
        gateway.whoami(actor=None)

    assert caught.value.error == "invalid_client"
    assert caught.value.retryable is False
    assert len(fake.requests) == 1
    assert fake.api_requests() == []
    assert [(a.operation, a.http_status, a.error_code) for a in recorder.attempts] == [
        ("token", 401, "invalid_client")
    ]


def test_an_unwell_token_endpoint_is_retried_with_backoff(gateway, fake, sleeps):
    fake.token_script = [Reply(503, b"upstream unavailable"), Reply(500, {})]
    fake.on("GET", "/v1/whoami", Reply(body=WHOAMI))

    gateway.whoami(actor=None)

    assert fake.exchanges == 1
    assert len(sleeps) == 2
    assert 0.8 <= sleeps[0] <= 1.2
    assert 1.6 <= sleeps[1] <= 2.4


def test_a_token_answer_without_expires_in_is_not_trusted(gateway, fake):
    fake.token_script = [Reply(200, {"access_token": "abc", "token_type": "Bearer"})] * 5

    with pytest.raises(TokenExchangeFailed) as caught:
        gateway.whoami(actor=None)

    assert caught.value.error == "malformed_response"
    assert len(fake.requests) == 5
    assert fake.api_requests() == []


def test_the_token_reports_its_scopes_and_firm(gateway, fake):
    token = gateway.tokens.token(
        context=gateway._context(None), recorder=gateway.recorder, policy=gateway.policy
    )

    assert token.expires_in == 180
    assert token.scopes == tuple(fake.scope.split())
    assert token.firm_id == "ISV-Participant-Acme"
    assert "value" not in repr(token)
