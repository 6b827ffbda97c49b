"""Identities that do not fit are refused, audited, and never a 500: whatever key or algorithm a
token names, and whatever its username or email claim holds."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.contrib.auth.models import User
from django.test import Client

from backoffice.audit.models import AuditEvent
from tests.backoffice.identity.conftest import AUDIENCE, ISSUER
from tests.backoffice.identity.test_sso_assertion import assertion, get_home
from tests.backoffice.identity.test_sso_header import PROXY

pytestmark = pytest.mark.django_db


def refusals() -> list[dict]:
    return list(
        AuditEvent.objects.filter(action="identity.signin.refused")
        .order_by("id")
        .values_list("payload", flat=True)
    )


def claims(**overrides) -> dict:
    now = int(time.time())
    return {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 300,
        "preferred_username": "bob",
        "email": "bob@corp.example",
        "groups": ["backoffice-treasury"],
        **overrides,
    }


def test_a_token_signed_es256_while_the_key_is_rsa_is_refused_and_audited(assertion_mode):
    token = jwt.encode(claims(), ec.generate_private_key(ec.SECP256R1()), algorithm="ES256")

    _, response = get_home(token)

    assert response.status_code == 302  # to the sign-in page, as for anyone anonymous
    assert not User.objects.exists()
    assert refusals() == [{"reason": "assertion_algorithm_mismatch"}]


def test_the_public_key_as_an_hmac_secret_is_refused_even_if_hs256_is_allowed(
    assertion_mode, signing_key
):
    assertion_mode.SSO_ASSERTION_ALGORITHMS = ["RS256", "HS256"]  # a misconfiguration
    public_pem = signing_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # PyJWT itself refuses to sign with a PEM as an HMAC secret; an attacker would not ask it.
    forged = _hs256(claims(), public_pem)

    _, response = get_home(forged)

    assert response.status_code == 302
    assert not User.objects.exists()
    assert refusals() == [{"reason": "assertion_algorithm_mismatch"}]


def _hs256(payload: dict, secret: bytes) -> str:
    def b64(raw: bytes) -> bytes:
        return base64.urlsafe_b64encode(raw).rstrip(b"=")

    signing_input = b".".join(
        [
            b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()),
            b64(json.dumps(payload).encode()),
        ]
    )
    signature = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + b64(signature)).decode()


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("not.a.jwt", "assertion_invalid"),
        ("eyJhbGciOiJub25lIn0.e30.", "assertion_algorithm_mismatch"),  # alg "none"
        ("eyJhbGciOiJSUzI1NiIsImtpZCI6WzFdfQ.e30.AAAA", "assertion_invalid"),  # kid: a list
        ("eyJhbGciOlsiUlMyNTYiXX0.e30.AAAA", "assertion_invalid"),  # alg: a list
        ("eyJhbGciOiJSUzI1NiJ9.e30.AAAA", "assertion_invalid"),  # a signature of the wrong size
        ("\u00ff" * 10, "assertion_invalid"),
        ("a." * 9000, "assertion_invalid"),
    ],
)
def test_tokens_that_are_not_even_jwts_are_refused_and_audited(assertion_mode, token, reason):
    _, response = get_home(token)

    assert response.status_code == 302
    assert [refusal["reason"] for refusal in refusals()] == [reason]


@pytest.mark.parametrize(
    ("claim", "value", "reason"),
    [
        ("preferred_username", "bo\x00b", "username_invalid"),
        ("preferred_username", "b" * 151, "username_too_long"),
        ("preferred_username", "bob\ud800", "username_invalid"),
        ("preferred_username", ["bob"], "username_invalid"),
        ("email", "bob\x00@corp.example", "email_invalid"),
        ("email", "b" * 250 + "@corp.example", "email_invalid"),
    ],
)
def test_claims_that_do_not_fit_are_refused_not_cut(
    assertion_mode, signing_key, claim, value, reason
):
    token = jwt.encode(claims(**{claim: value}), signing_key, algorithm="RS256")

    _, response = get_home(token)

    assert response.status_code == 302
    assert not User.objects.exists()
    assert [refusal["reason"] for refusal in refusals()] == [reason]


def test_two_long_usernames_sharing_150_characters_never_share_an_account(
    assertion_mode, signing_key
):
    stem = "x" * 150
    for username in (stem + "-alice", stem + "-mallory"):
        get_home(assertion(signing_key, preferred_username=username))

    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"HTTP_X_FORWARDED_USER": "a" * 151}, "username_too_long"),
        ({"HTTP_X_FORWARDED_USER": "al\x00ice"}, "username_invalid"),
        (
            {"HTTP_X_FORWARDED_USER": "alice", "HTTP_X_FORWARDED_EMAIL": "a\x00@x.example"},
            "email_invalid",
        ),
    ],
)
def test_header_identities_that_do_not_fit_are_refused_not_cut(headers, reason):
    response = Client().get(
        "/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_GROUPS="backoffice-support", **headers
    )

    assert response.status_code == 302
    assert not User.objects.exists()
    assert [refusal["reason"] for refusal in refusals()] == [reason]
