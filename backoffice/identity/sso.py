"""Reading who the SSO proxy says is at the keyboard: a signed assertion, or trusted plain headers."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.conf import settings
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.http import HttpRequest

from backoffice.inputs import is_clean_text
from backoffice.network import is_trusted_proxy

USERNAME_MAX_LENGTH = 150  # django.contrib.auth's User.username
EMAIL_MAX_LENGTH = 254  # and User.email
# A proxy's assertion is a few kilobytes; nothing longer is parsed.
MAX_TOKEN_LENGTH = 16 * 1024


@dataclass(frozen=True)
class Identity:
    username: str
    email: str
    groups: tuple[str, ...]


class IdentityRefused(Exception):
    """The request carries an identity we must not believe. `reason` is a short code for the audit."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason
        self.detail = detail


def _meta_key(header: str) -> str:
    return "HTTP_" + header.upper().replace("-", "_")


def _identity(*, username: Any, email: Any, groups: Any) -> Identity:
    """The identity, or IdentityRefused: a value that does not fit is refused, never cut (two
    usernames sharing their first 150 characters would otherwise share an account)."""
    if not isinstance(username, str):
        raise IdentityRefused("username_invalid", "the username is not a string")
    username = username.strip()
    if len(username) > USERNAME_MAX_LENGTH:
        raise IdentityRefused("username_too_long", f"longer than {USERNAME_MAX_LENGTH} characters")
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError as exc:
        raise IdentityRefused("username_invalid", "not a username Django can hold") from exc
    email = "" if email is None else email
    if not isinstance(email, str):
        raise IdentityRefused("email_invalid", "the email is not a string")
    email = email.strip()
    if email:
        try:
            if len(email) > EMAIL_MAX_LENGTH or not is_clean_text(email):
                raise ValidationError("too long, or control characters")
            EmailValidator()(email)
        except ValidationError as exc:
            raise IdentityRefused("email_invalid", "not an email address") from exc
    return Identity(username=username, email=email, groups=_groups(groups))


def _groups(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, list | tuple):
        items = [item for item in value if isinstance(item, str)]
    else:
        items = []
    if len(items) > 1000 or not all(is_clean_text(item) for item in items):
        raise IdentityRefused("groups_invalid", "too many groups, or one with control characters")
    return tuple(sorted({item.strip() for item in items if item.strip()}))


# The algorithms each kind of public key can verify. A token is checked only with an algorithm
# that is both allowed by settings and right for the key it names, so a key of one kind is never
# asked to verify another kind's signature (an EC signature on an RSA key, or the RSA public key
# used as an HMAC secret, which is how a token is forged when HS256 is allowed by mistake).
def _algorithms_for(key: Any) -> set[str]:
    if isinstance(key, rsa.RSAPublicKey):
        return {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
    if isinstance(key, ec.EllipticCurvePublicKey):
        by_curve = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
        return {by_curve[key.curve.name]} if key.curve.name in by_curve else set()
    if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return {"EdDSA"}
    return set()


@lru_cache(maxsize=4)
def _verification_keys(key_file: str, jwks_file: str, mtime: float) -> dict[str | None, Any]:
    """Keys by `kid` (None for a lone PEM key). Cached until the file changes on disk (rotation)."""
    if jwks_file:
        keyset = jwt.PyJWKSet.from_json(Path(jwks_file).read_text())
        return {key.key_id: key.key for key in keyset.keys}
    return {None: load_pem_public_key(Path(key_file).read_bytes())}


def _keys() -> dict[str | None, Any]:
    key_file = settings.SSO_ASSERTION_PUBLIC_KEY_FILE
    jwks_file = settings.SSO_ASSERTION_JWKS_FILE
    path = Path(jwks_file or key_file)
    return _verification_keys(key_file, jwks_file, path.stat().st_mtime)


def identity_from_assertion(request: HttpRequest) -> Identity | None:
    """The identity in the proxy's signed JWT, or None when the request carries none.

    Anything else a token can be (malformed, signed with another kind of key or algorithm,
    expired, for someone else) is an IdentityRefused with its reason: never an exception that
    would reach the person as a server error.
    """
    token = request.META.get(_meta_key(settings.SSO_ASSERTION_HEADER), "").strip()
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    if not token:
        return None
    if len(token) > MAX_TOKEN_LENGTH:
        raise IdentityRefused("assertion_invalid", "longer than any assertion the proxy sends")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise IdentityRefused("assertion_invalid", str(exc)) from exc
    algorithm, kid = header.get("alg"), header.get("kid")
    if not isinstance(algorithm, str) or not isinstance(kid, str | None):
        raise IdentityRefused("assertion_invalid", "alg and kid must be strings")
    try:
        keys = _keys()
    except (OSError, ValueError, jwt.PyJWTError) as exc:
        raise IdentityRefused("assertion_keys_unavailable", str(exc)) from exc
    key = keys.get(kid) if kid in keys else keys.get(None)
    if key is None and len(keys) == 1:
        key = next(iter(keys.values()))
    if key is None:
        raise IdentityRefused("unknown_key", f"no key with kid {kid!r}")
    if algorithm not in set(settings.SSO_ASSERTION_ALGORITHMS) & _algorithms_for(key):
        raise IdentityRefused("assertion_algorithm_mismatch", f"{algorithm} for this key")
    try:
        claims = jwt.decode(
            token,
            key=key,
            algorithms=[algorithm],
            audience=settings.SSO_ASSERTION_AUDIENCE,
            issuer=settings.SSO_ASSERTION_ISSUER,
            leeway=settings.SSO_ASSERTION_LEEWAY_SECONDS,
            options={"require": ["exp", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise IdentityRefused("assertion_expired", str(exc)) from exc
    except (jwt.PyJWTError, TypeError, ValueError) as exc:
        # PyJWT's own errors, and the crypto library's for a signature of the wrong shape.
        raise IdentityRefused("assertion_invalid", str(exc)) from exc
    if not claims.get(settings.SSO_USER_CLAIM):
        raise IdentityRefused("assertion_without_user", f"claim {settings.SSO_USER_CLAIM} is empty")
    return _identity(
        username=claims.get(settings.SSO_USER_CLAIM),
        email=claims.get(settings.SSO_EMAIL_CLAIM),
        groups=claims.get(settings.SSO_GROUPS_CLAIM),
    )


def identity_from_headers(request: HttpRequest) -> Identity | None:
    """The identity in the proxy's plain headers, believed only when the proxy itself sent them."""
    username = request.META.get(_meta_key(settings.SSO_USER_HEADER), "").strip()
    if not username:
        return None
    if not is_trusted_proxy(request.META.get("REMOTE_ADDR")):
        raise IdentityRefused(
            "untrusted_source", "identity headers from an address not in SSO_TRUSTED_PROXIES"
        )
    return _identity(
        username=username,
        email=request.META.get(_meta_key(settings.SSO_EMAIL_HEADER), ""),
        groups=request.META.get(_meta_key(settings.SSO_GROUPS_HEADER), ""),
    )


def identity_from_request(request: HttpRequest) -> Identity | None:
    if settings.SSO_MODE == "assertion":
        return identity_from_assertion(request)
    if settings.SSO_MODE == "header":
        return identity_from_headers(request)
    return None
