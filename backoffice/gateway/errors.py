"""Typed errors of the gateway, and the one closed classification every caller switches on.

Every failed exchange call ends in exactly one `Outcome` (`error.outcome`):

- NOT_SENT: nothing reached the exchange, or what reached it changed nothing (a read, a request
  throttled before it was processed). Safe to try again.
- REFUSED: the exchange said no, with its reason (`error.message`). Trying again the same way
  will be refused the same way.
- UNKNOWN: a request that changes something was sent and no usable answer came back (a timeout
  after sending, a connection reset, a 5xx, an unreadable body). It may have happened: settle it
  by reading, or by an identical replay under the same idempotency key, never by a blind new send.
- MISCONFIGURED: credentials, keys, audience, scopes, TLS or addresses are wrong; a person must
  fix settings. The message says which, quoting the exchange's own words.

Callers branch on `error.outcome`, not on exception classes. The classes remain for the few
callers that must tell one refusal from another (NotFound: "the exchange has no record of it";
AlreadyExists), and for the record of each attempt.

Calling the exchange inside an open database transaction is a programming error, not an exchange
failure: `GatewayCalledInTransaction` is deliberately not a GatewayError, so it is never shown to
staff as an outage and tests and logs show it as the bug it is.
"""

from __future__ import annotations

import email.utils
import enum
import json
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from backoffice.gateway.transport import Response


class Outcome(enum.StrEnum):
    NOT_SENT = "not_sent"
    REFUSED = "refused"
    UNKNOWN = "outcome_unknown"
    MISCONFIGURED = "misconfigured"


class GatewayCalledInTransaction(RuntimeError):
    """The exchange was about to be called inside an open database transaction. Nothing was sent.

    Exchange calls happen after the commit (transaction.on_commit or after the atomic block):
    a rollback cannot take back what the exchange has done.
    """


class GatewayError(Exception):
    """Anything that went wrong talking to the exchange."""

    retryable = False
    code = "unknown"  # the canonical gRPC/Connect code name, lower snake case
    outcome = Outcome.REFUSED

    def __init__(
        self,
        message: str = "",
        *,
        http_status: int | None = None,
        operation: str = "",
        code: str | None = None,
    ) -> None:
        super().__init__(message or self.__class__.__name__)
        self.message = message
        self.http_status = http_status
        self.operation = operation
        if code is not None:
            self.code = code

    def outcome_of_call(self, *, changes_state: bool) -> Outcome:
        """This failure's outcome for a call that does (or does not) change exchange state."""
        return self.outcome

    def __str__(self) -> str:
        where = f" ({self.operation})" if self.operation else ""
        status = f" [HTTP {self.http_status}]" if self.http_status else ""
        return f"{self.code}{status}{where}: {self.message or self.__class__.__name__}"


class GatewayNotConfigured(GatewayError):
    """A setting the gateway needs is missing or wrong. Nothing was sent."""

    code = "not_configured"
    outcome = Outcome.MISCONFIGURED


# --- Refused: the same request will fail the same way ---------------------------------------------


class PermanentError(GatewayError):
    retryable = False
    outcome = Outcome.REFUSED


class InvalidArgument(PermanentError):
    code = "invalid_argument"


class NotFound(PermanentError):
    code = "not_found"


class PermissionDenied(PermanentError):
    """403: the firm's credentials lack a scope (or the participant is not the firm's). Either way
    someone must change the integration's set-up, not retry."""

    code = "permission_denied"
    outcome = Outcome.MISCONFIGURED


class AlreadyExists(PermanentError):
    code = "already_exists"


class FailedPrecondition(PermanentError):
    code = "failed_precondition"


class Aborted(PermanentError):
    """HTTP 409 ABORTED: e.g. a suppressed ledger entry type was asked for."""

    code = "aborted"


class Unimplemented(PermanentError):
    code = "unimplemented"


class UnexpectedRedirect(PermanentError):
    """The exchange answered with a redirect, which the gateway never follows (wrong base URL?)."""

    code = "unexpected_redirect"
    outcome = Outcome.MISCONFIGURED


# --- Transient: the exchange or the network was unwell; a later identical request may succeed ----


class TransientError(GatewayError):
    """The exchange or the network was unwell. `reached` says whether the request got to the
    exchange: then a call that changes state has an unknown outcome; otherwise nothing happened."""

    retryable = True
    outcome = Outcome.NOT_SENT
    reached = True  # an answer came (a 5xx, an unreadable body), so the request arrived

    def outcome_of_call(self, *, changes_state: bool) -> Outcome:
        return Outcome.UNKNOWN if changes_state and self.reached else Outcome.NOT_SENT


class Unavailable(TransientError):
    code = "unavailable"


class DeadlineExceeded(TransientError):
    code = "deadline_exceeded"


class InternalError(TransientError):
    code = "internal"


class ConnectionFailed(TransientError):
    """The connection could not be made (`reached` False), or was reset or dropped after the
    request was written (`reached` True)."""

    code = "connection_failed"

    def __init__(self, message: str = "", *, reached: bool, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.reached = reached


class Timeout(TransientError):
    """No connection within the connect timeout (`reached` False), or no answer within the read
    timeout after the request was sent (`reached` True)."""

    code = "timeout"

    def __init__(self, message: str = "", *, reached: bool, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.reached = reached


class TlsFailed(GatewayError):
    """The TLS handshake failed: a certificate that does not verify against the configured
    authorities, or a host that does not speak TLS. Nothing was sent."""

    code = "tls_failed"
    outcome = Outcome.MISCONFIGURED


class MalformedResponse(TransientError):
    """The answer could not be read (not JSON, or a field of the wrong type)."""

    code = "malformed_response"


class RateLimited(TransientError):
    """Throttled, by the exchange (429) or by our own client-side limit, before anything was
    processed: nothing happened, whatever the call."""

    code = "resource_exhausted"
    reached = False

    def __init__(
        self, message: str = "", *, retry_after: float | None = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


# --- Authentication -------------------------------------------------------------------------------


class Unauthenticated(GatewayError):
    """The exchange refused our token even after a fresh one: a retry will not help."""

    code = "unauthenticated"
    outcome = Outcome.MISCONFIGURED


class TokenExchangeFailed(GatewayError):
    """The token endpoint refused the client assertion (`error` and `description` are its own
    words: invalid_client, invalid_client_assertion, access_denied, ...) or could not be reached
    (`retryable`). Either way nothing reached the API."""

    code = "token_exchange_failed"

    def __init__(
        self,
        message: str = "",
        *,
        error: str = "",
        description: str = "",
        clock_skew_seconds: float | None = None,
        retryable: bool = False,
        cause: GatewayError | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.error = error
        self.description = description
        self.clock_skew_seconds = clock_skew_seconds
        self.retryable = retryable
        self.cause = cause  # the transport's error when the endpoint could not be reached
        self.outcome = Outcome.NOT_SENT if retryable else Outcome.MISCONFIGURED
        if cause is not None and cause.outcome is Outcome.MISCONFIGURED:
            self.outcome = Outcome.MISCONFIGURED  # a TLS failure at the token endpoint


# --- Reading an answer ----------------------------------------------------------------------------

# The canonical code names (gRPC numbers as grpc-gateway sends them; Connect sends the names).
GRPC_CODE_NAMES = {
    1: "canceled",
    2: "unknown",
    3: "invalid_argument",
    4: "deadline_exceeded",
    5: "not_found",
    6: "already_exists",
    7: "permission_denied",
    8: "resource_exhausted",
    9: "failed_precondition",
    10: "aborted",
    11: "out_of_range",
    12: "unimplemented",
    13: "internal",
    14: "unavailable",
    15: "data_loss",
    16: "unauthenticated",
}

ERROR_FOR_CODE: dict[str, type[GatewayError]] = {
    "invalid_argument": InvalidArgument,
    "out_of_range": InvalidArgument,
    "not_found": NotFound,
    "permission_denied": PermissionDenied,
    "already_exists": AlreadyExists,
    "failed_precondition": FailedPrecondition,
    "aborted": Aborted,
    "unimplemented": Unimplemented,
    "resource_exhausted": RateLimited,
    "unavailable": Unavailable,
    "deadline_exceeded": DeadlineExceeded,
    "internal": InternalError,
    "unknown": InternalError,
    "data_loss": InternalError,
    "canceled": Unavailable,
    "unauthenticated": Unauthenticated,
}

ERROR_FOR_STATUS: dict[int, type[GatewayError]] = {
    400: InvalidArgument,
    401: Unauthenticated,
    403: PermissionDenied,
    404: NotFound,
    405: InvalidArgument,
    408: DeadlineExceeded,
    409: AlreadyExists,
    413: InvalidArgument,
    422: FailedPrecondition,
    429: RateLimited,
    500: InternalError,
    501: Unimplemented,
    502: Unavailable,
    503: Unavailable,
    504: DeadlineExceeded,
}


def misconfiguration(exc: GatewayError) -> str:
    """The setting at fault in a MISCONFIGURED failure, quoting the exchange's own words: what
    every app tells the person who must fix the connection."""
    if isinstance(exc, TokenExchangeFailed):
        quoted = f": {exc.description}" if exc.description else ""
        return f"sign-in refused, {exc.error}{quoted}"
    if isinstance(exc, GatewayNotConfigured | TlsFailed):
        return exc.message
    return f"{exc.code}: {exc.message}" if exc.message else exc.code


def retry_after_seconds(response: Response) -> float | None:
    """The Retry-After header in seconds (a number or an HTTP date), if the answer has one."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def error_for(response: Response, operation: str) -> GatewayError | None:
    """The typed error an answer stands for, or None for a success. The body's code (a gRPC number
    from grpc-gateway, a name from Connect) wins over the HTTP status; messages are kept for the
    exception text only, never parsed."""
    status = response.status
    if 200 <= status < 300:
        return None
    if 300 <= status < 400:
        return UnexpectedRedirect(
            "the exchange answered with a redirect, which is never followed",
            http_status=status,
            operation=operation,
        )
    code, message = "", ""
    try:
        body = json.loads(response.body or b"null")
    except ValueError:
        body = None
    if isinstance(body, dict):
        raw = body.get("code")
        if isinstance(raw, int) and not isinstance(raw, bool):
            code = GRPC_CODE_NAMES.get(raw, "")
        elif isinstance(raw, str):
            code = raw.strip().lower()
        if isinstance(body.get("message"), str):
            message = body["message"][:300]
    cls = ERROR_FOR_CODE.get(code) or ERROR_FOR_STATUS.get(status)
    if cls is None:
        cls = InternalError if status >= 500 else InvalidArgument
    if cls is RateLimited:
        return RateLimited(
            message,
            retry_after=retry_after_seconds(response),
            http_status=status,
            operation=operation,
        )
    return cls(message, http_status=status, operation=operation)
