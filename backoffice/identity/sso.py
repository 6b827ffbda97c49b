"""Reading who the SSO proxy says is at the keyboard: a signed assertion, or trusted plain headers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jwt
from django.conf import settings
from django.http import HttpRequest

from backoffice.network import is_trusted_proxy


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


def _groups(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, list | tuple):
        items = [str(item) for item in value]
    else:
        items = []
    return tuple(sorted({item.strip() for item in items if item.strip()}))


@lru_cache(maxsize=4)
def _verification_keys(key_file: str, jwks_file: str, mtime: float) -> dict[str | None, Any]:
    """Keys by `kid` (None for a lone PEM key). Cached until the file changes on disk (rotation)."""
    if jwks_file:
        keyset = jwt.PyJWKSet.from_json(Path(jwks_file).read_text())
        return {key.key_id: key.key for key in keyset.keys}
    pem = Path(key_file).read_bytes()
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    return {None: load_pem_public_key(pem)}


def _keys() -> dict[str | None, Any]:
    key_file = settings.SSO_ASSERTION_PUBLIC_KEY_FILE
    jwks_file = settings.SSO_ASSERTION_JWKS_FILE
    path = Path(jwks_file or key_file)
    return _verification_keys(key_file, jwks_file, path.stat().st_mtime)


def identity_from_assertion(request: HttpRequest) -> Identity | None:
    """The identity in the proxy's signed JWT, or None when the request carries none."""
    token = request.META.get(_meta_key(settings.SSO_ASSERTION_HEADER), "").strip()
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    if not token:
        return None
    try:
        header = jwt.get_unverified_header(token)
        keys = _keys()
        key = keys.get(header.get("kid")) if header.get("kid") in keys else keys.get(None)
        if key is None and len(keys) == 1:
            key = next(iter(keys.values()))
        if key is None:
            raise IdentityRefused("unknown_key", f"no key with kid {header.get('kid')!r}")
        claims = jwt.decode(
            token,
            key=key,
            algorithms=settings.SSO_ASSERTION_ALGORITHMS,
            audience=settings.SSO_ASSERTION_AUDIENCE,
            issuer=settings.SSO_ASSERTION_ISSUER,
            leeway=settings.SSO_ASSERTION_LEEWAY_SECONDS,
            options={"require": ["exp", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise IdentityRefused("assertion_expired", str(exc)) from exc
    except jwt.InvalidTokenError as exc:
        raise IdentityRefused("assertion_invalid", str(exc)) from exc
    except (OSError, ValueError, json.JSONDecodeError) as exc:
        raise IdentityRefused("assertion_keys_unavailable", str(exc)) from exc
    username = str(claims.get(settings.SSO_USER_CLAIM) or "").strip()
    if not username:
        raise IdentityRefused("assertion_without_user", f"claim {settings.SSO_USER_CLAIM} is empty")
    return Identity(
        username=username[:150],
        email=str(claims.get(settings.SSO_EMAIL_CLAIM) or "")[:254],
        groups=_groups(claims.get(settings.SSO_GROUPS_CLAIM)),
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
    return Identity(
        username=username[:150],
        email=request.META.get(_meta_key(settings.SSO_EMAIL_HEADER), "").strip()[:254],
        groups=_groups(request.META.get(_meta_key(settings.SSO_GROUPS_HEADER), "")),
    )


def identity_from_request(request: HttpRequest) -> Identity | None:
    if settings.SSO_MODE == "assertion":
        return identity_from_assertion(request)
    if settings.SSO_MODE == "header":
        return identity_from_headers(request)
    return None
