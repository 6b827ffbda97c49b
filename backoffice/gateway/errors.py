"""Typed errors of the gateway. Every one says whether trying again can help (`retryable`).

Callers catch the family they can act on: `PermanentError` (fix the request or the data),
`TransientError` (the exchange or the network was unwell; the gateway already retried where that
was safe), `RateLimited` (a transient error carrying the exchange's `Retry-After`),
`Unauthenticated` (the credentials were refused even after a fresh token).
"""

from __future__ import annotations


class GatewayError(Exception):
    """Anything that went wrong talking to the exchange."""

    retryable = False
    code = "unknown"  # the canonical gRPC/Connect code name, lower snake case

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

    def __str__(self) -> str:
        where = f" ({self.operation})" if self.operation else ""
        status = f" [HTTP {self.http_status}]" if self.http_status else ""
        return f"{self.code}{status}{where}: {self.message or self.__class__.__name__}"


class GatewayNotConfigured(GatewayError):
    """A setting the gateway needs is missing or wrong. Nothing was sent."""

    code = "not_configured"


class GatewayCalledInTransaction(GatewayError):
    """The exchange was about to be called inside an open database transaction. Nothing was sent.

    Exchange calls happen after the commit (transaction.on_commit or after the atomic block):
    a rollback cannot take back what the exchange has done.
    """

    code = "called_in_transaction"


# --- Permanent: the same request will fail the same way -------------------------------------------


class PermanentError(GatewayError):
    retryable = False


class InvalidArgument(PermanentError):
    code = "invalid_argument"


class NotFound(PermanentError):
    code = "not_found"


class PermissionDenied(PermanentError):
    code = "permission_denied"


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


# --- Transient: the exchange or the network was unwell; a later identical request may succeed ----


class TransientError(GatewayError):
    retryable = True


class Unavailable(TransientError):
    code = "unavailable"


class DeadlineExceeded(TransientError):
    code = "deadline_exceeded"


class InternalError(TransientError):
    code = "internal"


class ConnectionFailed(TransientError):
    """The connection could not be made, or was reset or dropped before a full answer arrived."""

    code = "connection_failed"


class Timeout(TransientError):
    """No answer within the timeout. For a write the outcome is unknown (it may have happened)."""

    code = "timeout"


class MalformedResponse(TransientError):
    """The answer could not be read (not JSON, or a field of the wrong type)."""

    code = "malformed_response"


class RateLimited(TransientError):
    code = "resource_exhausted"

    def __init__(
        self, message: str = "", *, retry_after: float | None = None, **kwargs: object
    ) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


# --- Authentication -------------------------------------------------------------------------------


class Unauthenticated(GatewayError):
    """The exchange refused our token even after a fresh one: a retry will not help."""

    code = "unauthenticated"


class TokenExchangeFailed(GatewayError):
    """The token endpoint refused the client assertion (`error` is Auth0's code) or was unreachable."""

    code = "token_exchange_failed"

    def __init__(
        self,
        message: str = "",
        *,
        error: str = "",
        description: str = "",
        clock_skew_seconds: float | None = None,
        retryable: bool = False,
        **kwargs: object,
    ) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.error = error  # invalid_client, invalid_client_assertion, access_denied, ...
        self.description = description
        self.clock_skew_seconds = clock_skew_seconds
        self.retryable = retryable


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
