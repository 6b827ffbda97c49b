"""Recording each attempt. The recorder is a seam: every attempt is one INSERT in autocommit (the
gateway never runs inside a transaction, so the row is committed at once and survives whatever the
caller does next). A reader in a background thread (the nightly run's next page) records through a
`HeldRecorder`, which the thread that owns the database connection flushes: one INSERT a page."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.contrib.auth.models import User
from django.db import DatabaseError

from backoffice.actors import Actor
from backoffice.gateway.models import GatewayCall

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CallContext:
    """Who a call is for: the staff member, else the origin ("command:kyc_sync")."""

    actor: Actor
    origin: str
    request_id: str
    participant_id: str = ""
    idempotency_key: str = ""


@dataclass(frozen=True)
class CallAttempt:
    started_at: dt.datetime
    environment: str
    operation: str
    method: str
    endpoint: str
    attempt: int
    http_status: int | None
    outcome: str
    error_code: str
    latency_ms: int
    context: CallContext
    exchange_ids: dict[str, str] = field(default_factory=dict)


class CallRecorder(Protocol):
    def record(self, attempt: CallAttempt) -> None: ...

    def record_all(self, attempts: Sequence[CallAttempt]) -> None: ...


def _fields(attempt: CallAttempt) -> dict[str, Any]:
    actor = attempt.context.actor
    user = actor if isinstance(actor, User) and actor.is_authenticated else None
    return {
        "started_at": attempt.started_at,
        "environment": attempt.environment,
        "operation": attempt.operation,
        "method": attempt.method,
        "endpoint": attempt.endpoint[:120],
        "participant_id": attempt.context.participant_id[:200],
        "actor": user,
        "origin": attempt.context.origin[:100],
        "attempt": attempt.attempt,
        "http_status": attempt.http_status,
        "outcome": attempt.outcome[:40],
        "error_code": attempt.error_code[:40],
        "latency_ms": max(0, attempt.latency_ms),
        "idempotency_key": attempt.context.idempotency_key[:100],
        "exchange_ids": attempt.exchange_ids,
        "request_id": attempt.context.request_id[:64],
    }


class DatabaseRecorder:
    """One GatewayCall row per attempt. A failure to record is logged, never raised: the call
    itself has happened and its outcome must reach the caller."""

    def record(self, attempt: CallAttempt) -> None:
        try:
            GatewayCall.objects.create(**_fields(attempt))
        except DatabaseError:
            logger.exception(
                "could not record gateway call %s attempt %s", attempt.operation, attempt.attempt
            )

    def record_all(self, attempts: Sequence[CallAttempt]) -> None:
        try:
            GatewayCall.objects.bulk_create([GatewayCall(**_fields(a)) for a in attempts])
        except DatabaseError:
            logger.exception("could not record %d gateway call attempts", len(attempts))


class MemoryRecorder:
    """Keeps attempts in a list (tests, and benchmarks that must not measure the database)."""

    def __init__(self) -> None:
        self.attempts: list[CallAttempt] = []

    def record(self, attempt: CallAttempt) -> None:
        self.attempts.append(attempt)

    def record_all(self, attempts: Sequence[CallAttempt]) -> None:
        self.attempts.extend(attempts)


class HeldRecorder:
    """Holds attempts until `flush()` hands them, all at once, to the recorder they are for: a
    thread that must not use the database connection of the thread that owns the work records
    through one, and the owner flushes it in autocommit (so a rolled-back transaction cannot take
    the rows with it). Attempts still held when the process is killed are lost with it."""

    def __init__(self, into: CallRecorder) -> None:
        self.into = into
        self._held: list[CallAttempt] = []
        self._lock = threading.Lock()

    def record(self, attempt: CallAttempt) -> None:
        with self._lock:
            self._held.append(attempt)

    def record_all(self, attempts: Sequence[CallAttempt]) -> None:
        with self._lock:
            self._held.extend(attempts)

    def flush(self) -> None:
        with self._lock:
            held, self._held = self._held, []
        if held:
            self.into.record_all(held)
