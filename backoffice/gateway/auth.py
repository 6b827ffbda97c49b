"""The firm's access token: private-key JWT (RFC 7523, API.md 3.3) exchanged at the token endpoint,
cached and renewed before the `expires_in` the endpoint sent runs out.

One TokenManager per process and environment. Threads share the cached token; when it needs
renewing exactly one thread renews it while the others wait for that result, and after a 401 the
token that was refused is replaced once, however many threads saw the refusal. A staff request
waits for a renewal under way for no longer than one attempt of its own would take.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import jwt

from backoffice.gateway.config import CallPolicy, GatewaySettings, SigningKey
from backoffice.gateway.errors import GatewayError, TokenExchangeFailed
from backoffice.gateway.recording import CallAttempt, CallContext, CallRecorder
from backoffice.gateway.retry import backoff_delay
from backoffice.gateway.transport import Request, Response, Transport

ASSERTION_LIFETIME_SECONDS = 300  # the documented maximum (exp - iat <= 5 minutes)
RENEW_MARGIN_SECONDS = 30.0  # renew this long before expiry (a quarter of short lifetimes)
CLOCK_SKEW_TOLERANCE_SECONDS = 30.0
TOKEN_ENDPOINT = "/oauth/token"  # noqa: S105  (a path, not a secret)


@dataclass(frozen=True)
class AccessToken:
    value: str = field(repr=False)
    expires_in: int
    renew_at: float  # monotonic clock
    expires_at: dt.datetime
    scopes: tuple[str, ...]
    firm_id: str
    key_label: str
    clock_skew_seconds: float | None


def _clock_skew(response: Response, sent_at: float) -> float | None:
    """Server time minus ours, from the Date header (second resolution), when it has one."""
    header = response.headers.get("date")
    if not header:
        return None
    try:
        server = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if server.tzinfo is None:
        return None
    return server.timestamp() - sent_at


def _unverified_claims(token: str) -> dict[str, Any]:
    """The access token's claims, read (not verified: it is the exchange's to verify)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims if isinstance(claims, dict) else {}


class TokenManager:
    def __init__(
        self,
        settings: GatewaySettings,
        transport: Transport,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self._transport = transport
        self._clock = clock
        self._wall = wall_clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._token: AccessToken | None = None
        self._preferred_key = 0  # index into config.keys of the key that last worked
        self.exchanges = 0  # successful token exchanges in this process

    def _fresh(self, token: AccessToken | None) -> bool:
        return token is not None and self._clock() < token.renew_at

    def token(
        self, *, context: CallContext, recorder: CallRecorder, policy: CallPolicy
    ) -> AccessToken:
        token = self._token
        if self._fresh(token):
            assert token is not None
            return token
        with self._renewing(policy):
            token = self._token
            if self._fresh(token):
                assert token is not None
                return token
            self._token = self._exchange(context=context, recorder=recorder, policy=policy)
            return self._token

    def renew_after_rejection(
        self,
        rejected: AccessToken,
        *,
        context: CallContext,
        recorder: CallRecorder,
        policy: CallPolicy,
    ) -> AccessToken:
        """A call was refused with 401 using `rejected`: renew, unless another thread already has."""
        with self._renewing(policy):
            current = self._token
            if current is not None and current.value != rejected.value and self._fresh(current):
                return current
            self._token = None
            self._token = self._exchange(context=context, recorder=recorder, policy=policy)
            return self._token

    @contextlib.contextmanager
    def _renewing(self, policy: CallPolicy) -> Iterator[None]:
        """The renewal lock. A job waits as long as the renewal takes; a staff request no longer
        than one attempt of its own would, then gives up with nothing sent."""
        if policy.backoff:
            self._lock.acquire()
        elif not self._lock.acquire(timeout=sum(policy.timeout(self.settings.connect_timeout))):
            raise TokenExchangeFailed(
                "signing in to the exchange is taking longer than a staff request may wait",
                error="renewal_busy",
                retryable=True,
                operation="token",
            )
        try:
            yield
        finally:
            self._lock.release()

    def forget(self) -> None:
        with self._lock:
            self._token = None

    # --- the exchange itself --------------------------------------------------------------------

    def assertion(self, key: SigningKey) -> str:
        now = int(self._wall())
        claims = {
            "iss": self.settings.client_id,
            "sub": self.settings.client_id,
            "aud": self.settings.environment.token_url,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECONDS,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, key.key, algorithm="RS256", headers={"typ": "JWT"})

    def _exchange(
        self, *, context: CallContext, recorder: CallRecorder, policy: CallPolicy
    ) -> AccessToken:
        keys = list(self.settings.keys)
        order = [self._preferred_key, *[i for i in range(len(keys)) if i != self._preferred_key]]
        failure: TokenExchangeFailed | None = None
        for position, index in enumerate(order):
            try:
                token = self._exchange_with(
                    keys[index], context=context, recorder=recorder, policy=policy
                )
            except TokenExchangeFailed as exc:
                # During a key rotation one of the two keys is not (or no longer) registered.
                if exc.error == "invalid_client" and position + 1 < len(order):
                    failure = exc
                    continue
                raise
            self._preferred_key = index
            return token
        assert failure is not None
        raise failure

    def _exchange_with(
        self, key: SigningKey, *, context: CallContext, recorder: CallRecorder, policy: CallPolicy
    ) -> AccessToken:
        env = self.settings.environment
        attempt = 0
        while True:
            attempt += 1
            body = {
                "client_id": self.settings.client_id,
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": self.assertion(key),
                "audience": env.audience,
                "grant_type": "client_credentials",
            }
            request = Request(
                method="POST",
                url=env.token_url,
                timeout=policy.timeout(self.settings.connect_timeout),
                headers={"Content-Type": "application/json"},
                json=body,
            )
            started = dt.datetime.now(tz=dt.UTC)
            sent_at = self._wall()
            sent_mono = self._clock()
            tick = time.perf_counter()
            response: Response | None = None
            try:
                response = self._transport.send(request)
                token = self._read_token(response, key=key, sent_at=sent_at, sent_mono=sent_mono)
            except GatewayError as exc:
                error = exc
                retryable = exc.retryable
            else:
                self.exchanges += 1
                self._record(context, recorder, started, tick, attempt, response, "ok", "")
                return token
            self._record(
                context,
                recorder,
                started,
                tick,
                attempt,
                response,
                error.__class__.__name__,
                getattr(error, "error", "") or error.code,
            )
            delay = backoff_delay(
                attempt, base=self.settings.backoff_base, cap=self.settings.backoff_cap
            )
            if (
                not retryable
                or not policy.backoff
                or attempt >= policy.max_attempts
                or delay > policy.max_wait
            ):
                if isinstance(error, TokenExchangeFailed):
                    raise error
                raise TokenExchangeFailed(
                    f"the token endpoint {env.token_url} could not be reached: {error}",
                    error=error.code,
                    retryable=error.retryable,
                    cause=error,
                    http_status=error.http_status,
                    operation="token",
                ) from error
            self._sleep(delay)

    def _record(
        self,
        context: CallContext,
        recorder: CallRecorder,
        started: dt.datetime,
        tick: float,
        attempt: int,
        response: Response | None,
        outcome: str,
        error_code: str,
    ) -> None:
        recorder.record(
            CallAttempt(
                started_at=started,
                environment=self.settings.environment.name,
                operation="token",
                method="POST",
                endpoint=TOKEN_ENDPOINT,
                attempt=attempt,
                http_status=response.status if response is not None else None,
                outcome=outcome,
                error_code=error_code,
                latency_ms=round((time.perf_counter() - tick) * 1000),
                context=CallContext(
                    actor=context.actor, origin=context.origin, request_id=context.request_id
                ),
            )
        )

    def _read_token(
        self, response: Response, *, key: SigningKey, sent_at: float, sent_mono: float
    ) -> AccessToken:
        skew = _clock_skew(response, sent_at)
        try:
            payload = json.loads(response.body or b"{}")
        except ValueError:
            payload = None
        if response.status != 200:
            error = description = ""
            if isinstance(payload, dict):
                error = str(payload.get("error", ""))
                description = str(payload.get("error_description", ""))
            retryable = response.status >= 500 or response.status == 429
            raise TokenExchangeFailed(
                description or f"the token endpoint answered HTTP {response.status}",
                error=error or f"http_{response.status}",
                description=description,
                clock_skew_seconds=skew,
                retryable=retryable,
                http_status=response.status,
                operation="token",
            )
        if not isinstance(payload, dict):
            raise TokenExchangeFailed(
                "the token endpoint's answer is not a JSON object",
                error="malformed_response",
                retryable=True,
                http_status=200,
                operation="token",
            )
        value = payload.get("access_token")
        try:
            expires_in = int(payload.get("expires_in", ""))
        except (TypeError, ValueError):
            expires_in = 0
        if not isinstance(value, str) or not value or expires_in <= 0:
            raise TokenExchangeFailed(
                "the token endpoint's answer has no access_token or expires_in",
                error="malformed_response",
                retryable=True,
                http_status=200,
                operation="token",
            )
        claims = _unverified_claims(value)
        scope = payload.get("scope") or claims.get("scope") or ""
        scopes = tuple(str(scope).split()) if isinstance(scope, str) else ()
        margin = min(RENEW_MARGIN_SECONDS, expires_in / 4)
        return AccessToken(
            value=value,
            expires_in=expires_in,
            renew_at=sent_mono + expires_in - margin,
            expires_at=dt.datetime.fromtimestamp(sent_at + expires_in, tz=dt.UTC),
            scopes=scopes,
            firm_id=str(claims.get("firm_id", "")),
            key_label=key.label,
            clock_skew_seconds=skew,
        )
