"""What the current request (or command) is: its id and client address.

Audit events and records of exchange calls read this so that services need not thread the request
through every call. Web requests set it in RequestContextMiddleware; management commands set it
with `command_context()`.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    client_ip: str | None = None
    # Who the work is for when no user object is at hand: "command:kyc_sync", "webhook:kyc".
    origin: str = ""
    # Someone is waiting for the answer (a web request): exchange calls fail fast rather than
    # retry or wait, and leave unfinished work to the background command that completes it.
    interactive: bool = False


_current: ContextVar[RequestContext | None] = ContextVar("backoffice_request_context", default=None)


def current() -> RequestContext | None:
    return _current.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


@contextlib.contextmanager
def bound(context: RequestContext) -> Iterator[RequestContext]:
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def command_context(name: str) -> contextlib.AbstractContextManager[RequestContext]:
    """The context a management command runs in: a fresh id, and the command as origin."""
    return bound(RequestContext(request_id=new_request_id(), origin=f"command:{name}"))


class RequestContextLogFilter(logging.Filter):
    """Adds `request_id` to every log record so one request's lines can be found together."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _current.get()
        record.request_id = context.request_id if context else "-"
        return True


class RefusalLogFilter(logging.Filter):
    """A refused page (403) is everyday work, audited by the refusal page: django.request logs it
    with the PermissionDenied's traceback, which says nothing an operator needs. Keep the one line
    (path, status, request id) and drop the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403 and record.exc_info:
            record.exc_info = None
            record.exc_text = None
        return True
