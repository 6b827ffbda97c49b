"""Signed-assertion sign-in: a JWT from the proxy, verified with a key on disk."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth.models import User
from django.test import Client

from backoffice.audit.models import AuditEvent
from tests.backoffice.identity.conftest import AUDIENCE, ISSUER


def assertion(key, **overrides):
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 300,
        "preferred_username": "bob",
        "email": "bob@corp.example",
        "groups": ["backoffice-treasury"],
    }
    claims.update(overrides)
    headers = {"kid": overrides.pop("kid")} if "kid" in overrides else None
    claims.pop("kid", None)
    return jwt.encode(claims, key, algorithm="RS256", headers=headers)


def get_home(token: str, client: Client | None = None):
    client = client or Client()
    return client, client.get("/", HTTP_X_AUTH_REQUEST_ASSERTION=token, REMOTE_ADDR="198.51.100.4")


def test_a_valid_assertion_signs_in_the_right_user_with_the_right_roles(
    db, assertion_mode, signing_key
):
    _, response = get_home(assertion(signing_key))

    assert response.status_code == 200
    user = User.objects.get(username="bob")
    assert user.email == "bob@corp.example"
    assert list(user.groups.values_list("name", flat=True)) == ["treasury"]


def test_groups_may_come_as_a_comma_separated_string(db, assertion_mode, signing_key):
    get_home(assertion(signing_key, groups="backoffice-support, backoffice-compliance"))

    assert sorted(User.objects.get(username="bob").groups.values_list("name", flat=True)) == [
        "compliance",
        "support",
    ]


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"aud": "another-app"}, "assertion_invalid"),
        ({"iss": "https://evil.example"}, "assertion_invalid"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 4000}, "assertion_expired"),
        ({"preferred_username": ""}, "assertion_without_user"),
    ],
)
def test_an_assertion_with_wrong_claims_signs_nobody_in(
    db, assertion_mode, signing_key, overrides, reason
):
    _client, response = get_home(assertion(signing_key, **overrides))

    assert response.status_code == 302
    assert not User.objects.filter(username="bob").exists()
    assert AuditEvent.objects.get(action="identity.signin.refused").payload == {"reason": reason}


def test_an_assertion_signed_by_another_key_signs_nobody_in(db, assertion_mode):
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    _, response = get_home(assertion(impostor))

    assert response.status_code == 302
    assert not User.objects.exists()
    assert AuditEvent.objects.get(action="identity.signin.refused").payload == {
        "reason": "assertion_invalid"
    }


def test_keys_can_come_from_a_jwks_file_matched_by_kid(db, assertion_mode, signing_key, tmp_path):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    keys = []
    for kid, key in (("old", other), ("current", signing_key)):
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
        keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": keys}))
    assertion_mode.SSO_ASSERTION_PUBLIC_KEY_FILE = ""
    assertion_mode.SSO_ASSERTION_JWKS_FILE = str(jwks)

    _, response = get_home(assertion(signing_key, kid="current"))

    assert response.status_code == 200
    assert User.objects.filter(username="bob").exists()


def test_a_user_without_a_mapped_group_is_refused(db, assertion_mode, signing_key):
    _, response = get_home(assertion(signing_key, groups=["staff"]))

    assert response.status_code == 403
    assert not User.objects.filter(username="bob").exists()
