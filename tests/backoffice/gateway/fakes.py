"""A fake Polymarket US at the gateway's HTTP seam: scripted answers, a real token endpoint.

The token endpoint verifies the client assertion as the exchange would (RS256 against the
registered public keys, iss/sub/aud, exp - iat <= 300, jti never reused) and issues access tokens;
every other path answers from a script, and only to a token it issued and has not revoked.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from backoffice.gateway.config import CallPolicy, Environment, GatewaySettings, SigningKey
from backoffice.gateway.transport import Request, Response

BASE_URL = "https://api.fake.test"
TOKEN_URL = "https://auth.fake.test/oauth/token"
CLIENT_ID = "client-fake-123"
TOKEN_SECRET = "fake-exchange-token-signing-secret-32b"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # a dict/list is sent as JSON; bytes as they are
    headers: dict[str, str] = field(default_factory=dict)
    error: Exception | None = None  # raised instead of answering (Timeout, ConnectionFailed)

    def response(self) -> Response:
        if isinstance(self.body, bytes):
            raw = self.body
        elif self.body is None:
            raw = b"{}"
        else:
            raw = json.dumps(self.body).encode()
        return Response(
            status=self.status, headers={k.lower(): v for k, v in self.headers.items()}, body=raw
        )


Handler = Reply | Callable[[Request], Reply]


class FakeExchange:
    def __init__(self, keys: list[rsa.RSAPrivateKey], *, expires_in: int = 180) -> None:
        self.public_keys = [key.public_key() for key in keys]
        self.expires_in = expires_in
        self.scope = (
            "read:accounts read:kyc write:kyc write:cash-movements read:positions read:orders "
            "write:orders read:reports read:instruments read:dropcopy"
        )
        self.requests: list[Request] = []
        self.routes: dict[tuple[str, str], list[Handler]] = {}
        self.token_script: list[Reply] = []  # answers the token endpoint gives before issuing
        self.token_delay = 0.0
        self.date_header: str | None = None
        self.issued: list[str] = []
        self.revoked: set[str] = set()
        self.jtis: set[str] = set()
        self.assertions: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._serial = itertools.count(1)

    # --- scripting ----------------------------------------------------------------------------

    def on(self, method: str, path: str, *replies: Handler) -> None:
        """Answer `method path` with `replies` in order; the last one keeps answering."""
        self.routes[(method, path)] = list(replies)

    def revoke_all(self) -> None:
        self.revoked.update(self.issued)

    def api_requests(self) -> list[Request]:
        return [r for r in self.requests if not r.url.startswith(TOKEN_URL)]

    @property
    def exchanges(self) -> int:
        return len(self.issued)

    # --- the seam -----------------------------------------------------------------------------

    def send(self, request: Request) -> Response:
        with self._lock:
            self.requests.append(request)
        if request.url == TOKEN_URL:
            return self._token(request)
        parts = urlsplit(request.url)
        authorization = request.headers.get("Authorization", "")
        token = authorization.removeprefix("Bearer ")
        if token not in self.issued or token in self.revoked:
            return Reply(401, {"code": 16, "message": "unauthenticated", "details": []}).response()
        with self._lock:
            script = self.routes.get((request.method, parts.path))
            if not script:
                return Reply(404, {"code": 5, "message": "no such route", "details": []}).response()
            handler = script.pop(0) if len(script) > 1 else script[0]
        reply = handler(request) if callable(handler) else handler
        if reply.error is not None:
            raise reply.error
        return reply.response()

    def _token(self, request: Request) -> Response:
        if self.token_delay:
            time.sleep(self.token_delay)  # widens the window in which other threads ask too
        with self._lock:
            if self.token_script:
                reply = self.token_script.pop(0)
                if reply.error is not None:
                    raise reply.error
                response = reply.response()
                return self._dated(response)
        body = request.json or {}
        assertion = body.get("client_assertion", "")
        claims = None
        for public_key in self.public_keys:
            try:
                claims = jwt.decode(
                    assertion,
                    public_key,
                    algorithms=["RS256"],
                    audience=TOKEN_URL,
                    issuer=CLIENT_ID,
                    options={"require": ["iss", "sub", "aud", "iat", "exp", "jti"]},
                )
                break
            except jwt.InvalidSignatureError:
                continue
        if claims is None:
            return self._dated(
                Reply(
                    401, {"error": "invalid_client", "error_description": "Invalid signature"}
                ).response()
            )
        with self._lock:
            problems = []
            if claims["sub"] != CLIENT_ID or body.get("client_id") != CLIENT_ID:
                problems.append("sub")
            if claims["exp"] - claims["iat"] > 300:
                problems.append("exp too far")
            if claims["jti"] in self.jtis:
                problems.append("jti reused")
            if body.get("audience") != BASE_URL or body.get("grant_type") != "client_credentials":
                problems.append("audience/grant")
            self.jtis.add(claims["jti"])
            self.assertions.append(claims)
            if problems:
                return self._dated(
                    Reply(
                        400,
                        {
                            "error": "invalid_client_assertion",
                            "error_description": ", ".join(problems),
                        },
                    ).response()
                )
            serial = next(self._serial)
            now = int(time.time())
            token = jwt.encode(
                {"sub": f"{CLIENT_ID}@clients", "aud": BASE_URL, "iat": now, "exp": now + self.expires_in,
                 "scope": self.scope, "firm_id": "ISV-Participant-Acme", "n": serial},
                TOKEN_SECRET,
                algorithm="HS256",
            )  # fmt: skip
            self.issued.append(token)
        return self._dated(
            Reply(
                200, {"access_token": token, "token_type": "Bearer", "expires_in": self.expires_in}
            ).response()
        )

    def _dated(self, response: Response) -> Response:
        if self.date_header is None:
            return response
        return Response(
            response.status, {**response.headers, "date": self.date_header}, response.body
        )


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Sleeps(list[float]):
    """Stands in for time.sleep: remembers how long the gateway wanted to wait."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_settings(keys: list[rsa.RSAPrivateKey], **overrides: Any) -> GatewaySettings:
    """The gateway's settings for the fake exchange: the defaults of backoffice/settings.py, with
    `overrides` by field name (and `job_*` / `staff_*` for the two call policies' fields)."""
    job: dict[str, Any] = {
        "name": "job",
        "max_attempts": 5,
        "read_timeout": 35.0,
        "max_wait": 60.0,
        "backoff": True,
    }
    staff: dict[str, Any] = {
        "name": "staff",
        "max_attempts": 1,
        "read_timeout": 10.0,
        "max_wait": 1.5,
        "backoff": False,
    }
    for name in list(overrides):
        for prefix, policy in (("job_", job), ("staff_", staff)):
            if name.startswith(prefix):
                policy[name.removeprefix(prefix)] = overrides.pop(name)
    values: dict[str, Any] = {
        "environment": Environment("sandbox", BASE_URL, TOKEN_URL, BASE_URL),
        "client_id": CLIENT_ID,
        "keys": tuple(
            SigningKey(label=label, key=key)
            for label, key in zip(("current", "next"), keys, strict=False)
        ),
        "connect_timeout": 3.05,
        "tls_verify": True,
        "backoff_base": 1.0,
        "backoff_cap": 8.0,
        "rate_limits": False,
        "job": CallPolicy(**job),
        "staff": CallPolicy(**staff),
    }
    values.update(overrides)
    return GatewaySettings(**values)


def rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
