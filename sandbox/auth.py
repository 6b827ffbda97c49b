"""Private-key JWT token exchange (RFC 7523, Auth0 style) and bearer-token checks (API.md 3).

The sandbox signs access tokens with its own RSA key, generated on first start and kept in the
database so tokens survive a restart.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from sandbox.config import Settings
from sandbox.errors import ApiError, Code, OAuthError
from sandbox.store import Store

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_LIFETIME = 300
CLOCK_SKEW = 30
SIGNING_KID = "sandbox-1"


@dataclass(frozen=True)
class Caller:
    """The authenticated firm behind a bearer token."""

    firm_id: str
    client_id: str
    scopes: frozenset[str]
    audience: str


class TokenAuthority:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        pem = store.meta_get("signing_key")
        if pem is None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode()
            store.meta_set("signing_key", pem)
        loaded = serialization.load_pem_private_key(pem.encode(), password=None)
        assert isinstance(loaded, rsa.RSAPrivateKey)
        self._private = loaded
        self.public_pem = (
            loaded.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self._private.public_key()))
        jwk.update({"kid": SIGNING_KID, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    # ---- token endpoint ----

    def exchange(self, form: dict[str, Any], request_base: str) -> dict[str, Any]:
        grant_type = form.get("grant_type")
        if grant_type != "client_credentials":
            raise OAuthError(400, "unsupported_grant_type", "grant_type must be client_credentials")
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise OAuthError(
                400, "invalid_request", "client_assertion_type must be " + ASSERTION_TYPE
            )
        assertion = form.get("client_assertion")
        if not isinstance(assertion, str) or not assertion:
            raise OAuthError(400, "invalid_request", "client_assertion is required")
        try:
            header = jwt.get_unverified_header(assertion)
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise OAuthError(401, "invalid_client_assertion", "malformed client assertion") from exc
        if header.get("alg") != "RS256":
            raise OAuthError(401, "invalid_client_assertion", "client assertion must use RS256")
        client_id = form.get("client_id") or unverified.get("iss")
        if not isinstance(client_id, str) or not client_id:
            raise OAuthError(401, "invalid_client", "unknown client")
        db = self.store.db
        firm = db.execute("SELECT * FROM firms WHERE client_id = ?", (client_id,)).fetchone()
        if firm is None:
            raise OAuthError(401, "invalid_client", "unknown client")
        keys = db.execute(
            "SELECT kid, public_pem FROM firm_keys WHERE firm_id = ? ORDER BY id",
            (firm["firm_id"],),
        ).fetchall()
        kid = header.get("kid")
        candidates = [k for k in keys if kid and k["kid"] == kid] or list(keys)
        claims: dict[str, Any] | None = None
        for key in candidates:
            try:
                claims = jwt.decode(
                    assertion,
                    key["public_pem"],
                    algorithms=["RS256"],
                    options={"verify_aud": False, "verify_exp": False, "verify_iat": False},
                )
                break
            except jwt.InvalidSignatureError:
                continue
            except jwt.PyJWTError as exc:
                raise OAuthError(401, "invalid_client_assertion", str(exc)) from exc
        if claims is None:
            raise OAuthError(401, "invalid_client", "signature does not match a registered key")
        self._check_claims(claims, client_id, request_base)
        if firm["disabled"]:
            raise OAuthError(403, "access_denied", "client is disabled")
        audience = form.get("audience") or self.settings.base_url
        if str(audience).rstrip("/") not in {self.settings.base_url, request_base}:
            raise OAuthError(403, "access_denied", f"Service not found: {audience}")
        self._use_jti(client_id, str(claims["jti"]), int(claims["exp"]))
        issued = int(time.time())
        access = jwt.encode(
            {
                "iss": self.settings.base_url + "/",
                "sub": f"{client_id}@clients",
                "aud": str(audience).rstrip("/"),
                "iat": issued,
                "exp": issued + self.settings.token_expires_in,
                "scope": firm["scopes"],
                "firm_id": firm["firm_id"],
                "azp": client_id,
                "gty": "client-credentials",
            },
            self._private,
            algorithm="RS256",
            headers={"kid": SIGNING_KID},
        )
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.settings.token_expires_in,
            "scope": firm["scopes"],
        }

    def _check_claims(self, claims: dict[str, Any], client_id: str, request_base: str) -> None:
        def refuse(why: str) -> OAuthError:
            return OAuthError(401, "invalid_client_assertion", why)

        for name in ("iss", "sub", "aud", "exp", "iat", "jti"):
            if name not in claims:
                raise refuse(f"missing claim {name}")
        if claims["iss"] != client_id or claims["sub"] != client_id:
            raise refuse("iss and sub must equal the client id")
        allowed_aud = set()
        for base in {self.settings.base_url, request_base}:
            allowed_aud |= {f"{base}/oauth/token", f"{base}/"}
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if not any(a in allowed_aud for a in audiences):
            raise refuse("aud must be the token endpoint URL")
        try:
            exp, iat = int(claims["exp"]), int(claims["iat"])
        except (TypeError, ValueError) as exc:
            raise refuse("exp and iat must be numbers") from exc
        now = int(time.time())
        if exp - iat > MAX_ASSERTION_LIFETIME:
            raise refuse("exp must be at most 5 minutes after iat")
        if exp <= now:
            raise refuse("client assertion has expired")
        if iat > now + CLOCK_SKEW:
            raise refuse("iat is in the future")
        if not isinstance(claims["jti"], str) or not claims["jti"]:
            raise refuse("jti must be a non-empty string")

    def _use_jti(self, client_id: str, jti: str, exp: int) -> None:
        with self.store.write() as db:
            db.execute("DELETE FROM used_jti WHERE exp < ?", (int(time.time()) - 3600,))
            try:
                db.execute(
                    "INSERT INTO used_jti (client_id, jti, exp) VALUES (?, ?, ?)",
                    (client_id, jti, exp),
                )
            except sqlite3.IntegrityError as exc:
                raise OAuthError(
                    401, "invalid_client_assertion", "jti has already been used"
                ) from exc

    # ---- bearer tokens on API calls ----

    def verify_bearer(self, header: str | None, request_base: str) -> Caller:
        if not header or not header.lower().startswith("bearer "):
            raise ApiError(Code.UNAUTHENTICATED, "missing bearer token")
        token = header[7:].strip()
        audiences = list({self.settings.base_url, request_base})
        try:
            claims = jwt.decode(
                token,
                self._private.public_key(),
                algorithms=["RS256"],
                audience=audiences,
                options={"require": ["exp", "iat", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise ApiError(Code.UNAUTHENTICATED, "token has expired") from exc
        except jwt.PyJWTError as exc:
            raise ApiError(Code.UNAUTHENTICATED, "invalid token") from exc
        firm_id = claims.get("firm_id")
        if not firm_id:
            raise ApiError(Code.UNAUTHENTICATED, "token has no firm_id claim")
        firm = self.store.db.execute(
            "SELECT client_id, disabled FROM firms WHERE firm_id = ?", (firm_id,)
        ).fetchone()
        if firm is None or firm["disabled"]:
            raise ApiError(Code.UNAUTHENTICATED, "firm is not enabled")
        return Caller(
            firm_id=str(firm_id),
            client_id=str(firm["client_id"]),
            scopes=frozenset(str(claims.get("scope", "")).split()),
            audience=str(claims["aud"]),
        )
