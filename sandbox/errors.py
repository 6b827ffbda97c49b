"""Error bodies: grpc-gateway status JSON on REST, Connect JSON on the Connect services.

Handlers raise `ApiError` with a gRPC code; the app renders it in the style of the route, so one
handler can never answer in the wrong dialect.
"""

from __future__ import annotations

import json
from enum import IntEnum

from werkzeug.wrappers import Response


class Code(IntEnum):
    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


# grpc-gateway's runtime.HTTPStatusFromCode, which API.md 4.6 / 7.1 restate.
GATEWAY_HTTP = {
    Code.OK: 200,
    Code.CANCELLED: 499,
    Code.UNKNOWN: 500,
    Code.INVALID_ARGUMENT: 400,
    Code.DEADLINE_EXCEEDED: 504,
    Code.NOT_FOUND: 404,
    Code.ALREADY_EXISTS: 409,
    Code.PERMISSION_DENIED: 403,
    Code.RESOURCE_EXHAUSTED: 429,
    Code.FAILED_PRECONDITION: 400,
    Code.ABORTED: 409,
    Code.OUT_OF_RANGE: 400,
    Code.UNIMPLEMENTED: 501,
    Code.INTERNAL: 500,
    Code.UNAVAILABLE: 503,
    Code.DATA_LOSS: 500,
    Code.UNAUTHENTICATED: 401,
}

# Connect protocol: error codes travel as snake_case strings, and its HTTP mapping of them is the
# same as grpc-gateway's (a Connect error is never OK).
CONNECT_HTTP: dict[Code, int] = {c: s for c, s in GATEWAY_HTTP.items() if c != Code.OK}


class ApiError(Exception):
    def __init__(self, code: Code, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after


def invalid(message: str) -> ApiError:
    return ApiError(Code.INVALID_ARGUMENT, message)


def not_found(message: str) -> ApiError:
    return ApiError(Code.NOT_FOUND, message)


def denied(message: str) -> ApiError:
    return ApiError(Code.PERMISSION_DENIED, message)


def _json_response(body: object, status: int, retry_after: int | None) -> Response:
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def gateway_error(error: ApiError) -> Response:
    body = {"code": int(error.code), "message": error.message, "details": []}
    return _json_response(body, GATEWAY_HTTP[error.code], error.retry_after)


def connect_error(error: ApiError) -> Response:
    body = {"code": error.code.name.lower(), "message": error.message}
    return _json_response(body, CONNECT_HTTP.get(error.code, 500), error.retry_after)


class OAuthError(Exception):
    """Auth0-style token endpoint refusal: {"error": ..., "error_description": ...}."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def response(self) -> Response:
        body = {"error": self.error, "error_description": self.description}
        return _json_response(body, self.status, None)
