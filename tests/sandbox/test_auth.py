"""Token exchange and bearer checks: the happy path and every documented refusal."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
import requests

from tests.sandbox.partner import ASSERTION_TYPE, Partner, assertion, new_key, public_pem


def test_token_is_rs256_with_documented_claims(partner: Partner) -> None:
    response = partner.token_request()
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 180
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["aud"] == partner.base
    assert claims["firm_id"] == partner.firm_id
    assert "write:cash-movements" in claims["scope"].split()
    assert claims["exp"] - claims["iat"] == 180
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "RS256"


def test_form_body_and_root_audience_accepted(partner: Partner) -> None:
    form = {
        "client_id": partner.client_id,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion(partner.key, partner.client_id, partner.base + "/"),
        "audience": partner.base,
        "grant_type": "client_credentials",
    }
    response = requests.post(partner.token_url, data=form, timeout=10)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("claims", "error"),
    [
        ({"iss": "someone-else"}, "invalid_client_assertion"),
        ({"sub": "someone-else"}, "invalid_client_assertion"),
        (
            {"aud": "https://api.preprod.polymarketexchange.com/oauth/token"},
            "invalid_client_assertion",
        ),
        (
            {"exp": int(time.time()) + 301 + 5, "iat": int(time.time()) - 5},
            "invalid_client_assertion",
        ),
        ({"exp": int(time.time()) - 10, "iat": int(time.time()) - 100}, "invalid_client_assertion"),
        ({"jti": None}, "invalid_client_assertion"),
        ({"exp": None}, "invalid_client_assertion"),
    ],
)
def test_bad_assertion_claims_refused(partner: Partner, claims: dict, error: str) -> None:
    response = partner.token_request(**claims)
    assert response.status_code == 401
    assert response.json()["error"] == error
    assert response.json()["error_description"]


def test_reused_jti_refused(partner: Partner) -> None:
    jti = str(uuid.uuid4())
    assert partner.token_request(jti=jti).status_code == 200
    again = partner.token_request(jti=jti)
    assert again.status_code == 401
    assert again.json()["error"] == "invalid_client_assertion"


def test_wrong_key_is_invalid_client(partner: Partner) -> None:
    body = {
        "client_id": partner.client_id,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion(new_key(), partner.client_id, partner.token_url),
        "grant_type": "client_credentials",
    }
    response = partner.token_request(body)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_unknown_client_and_wrong_alg(partner: Partner) -> None:
    body = {
        "client_id": "nobody",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion(partner.key, "nobody", partner.token_url),
        "grant_type": "client_credentials",
    }
    assert partner.token_request(body).json()["error"] == "invalid_client"
    hs = jwt.encode(
        {"iss": partner.client_id, "sub": partner.client_id, "aud": partner.token_url},
        "secret-secret-secret-secret-secret",
        algorithm="HS256",
    )
    body = {**body, "client_id": partner.client_id, "client_assertion": hs}
    assert partner.token_request(body).json()["error"] == "invalid_client_assertion"


def test_key_rotation_accepts_both_keys(partner: Partner) -> None:
    new = new_key()
    response = requests.post(
        f"{partner.base}/_sandbox/firms",
        json={
            "firmId": partner.firm_id,
            "clientId": partner.client_id,
            "publicKeys": [public_pem(partner.key), public_pem(new)],
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert partner.token_request().status_code == 200
    partner.key = new
    assert partner.token_request().status_code == 200


def test_bearer_checks(partner: Partner, participant: tuple[str, str]) -> None:
    pid, _account = participant
    base = partner.base
    missing = requests.get(f"{base}/v1/whoami", timeout=10)
    assert missing.status_code == 401
    assert missing.json() == {"code": 16, "message": "missing bearer token", "details": []}
    garbage = requests.get(
        f"{base}/v1/whoami", headers={"Authorization": "Bearer nope"}, timeout=10
    )
    assert garbage.status_code == 401
    assert garbage.json()["code"] == 16
    # x-participant-id: missing, malformed, another firm's.
    assert partner.get("/v1/users").status_code == 403
    bad = partner.get("/v1/users", pid="not-a-participant")
    assert bad.status_code == 403
    assert bad.json()["code"] == 7
    other = partner.get("/v1/users", pid="firms/ISV-Participant-Other/users/x")
    assert other.status_code == 403
    assert partner.get("/v1/users", pid=pid).json()["users"] == [pid]


def test_expired_token_refused(sandbox_factory) -> None:
    from tests.sandbox.partner import register_partner

    server = sandbox_factory(token_expires_in=-1)
    partner = register_partner(server.url)
    response = partner.get("/v1/whoami")
    assert response.status_code == 401
    assert response.json()["message"] == "token has expired"


def test_missing_scope_is_403_naming_it(sandbox) -> None:
    from tests.sandbox.partner import register_partner

    partner = register_partner(sandbox.url, scopes=["read:accounts"])
    response = partner.get("/v1/kyc/status", external_id="x")
    assert response.status_code == 403
    assert response.json() == {
        "code": 7,
        "message": "permission denied: missing required scope read:kyc",
        "details": [],
    }
    connect = partner.post(
        "/polymarket.us.cashmovement.v1.CashMovementService/GetFundingAccountBalance",
        {"currency": "USD"},
    )
    assert connect.status_code == 403
    assert connect.json()["code"] == "permission_denied"


def test_admin_needs_its_own_token(sandbox_factory) -> None:
    server = sandbox_factory(admin_token="s3cret-admin")
    assert requests.get(f"{server.url}/_sandbox/config", timeout=10).status_code == 401
    ok = requests.get(
        f"{server.url}/_sandbox/config",
        headers={"x-sandbox-admin-token": "s3cret-admin"},
        timeout=10,
    )
    assert ok.status_code == 200
