"""The funding request's state machine: the one table of allowed moves, and the one function
that makes a move, writes its timeline entry and audits it."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from backoffice.actors import Actor
from backoffice.audit.services import audit_record
from funding.errors import FundingError
from funding.models import FundingRequest, FundingStatusChange

S = FundingRequest.Status

# What the answer to a create call can make of a request: the exchange's four statuses, its
# refusal, no usable answer, or nothing sent (back where the call started).
_CALL_OUTCOMES = {S.CONFIRMED, S.REJECTED, S.PENDING, S.AMBIGUOUS, S.OUTCOME_UNKNOWN, S.REFUSED}

ALLOWED: dict[str, set[str]] = {
    S.DRAFT: {S.AWAITING_APPROVAL, S.CANCELLED},
    S.AWAITING_APPROVAL: {S.APPROVED, S.DECLINED, S.CANCELLED},
    # Sent by the approver's request or by funding_resume; cancelled only while nothing was sent.
    S.APPROVED: {S.SUBMITTING, S.CANCELLED},
    # The call's answer. Not sent: back to APPROVED. A withdrawal whose free cash fell short
    # just before sending goes back for approval and was never sent.
    S.SUBMITTING: _CALL_OUTCOMES | {S.APPROVED, S.AWAITING_APPROVAL},
    # Read by GetCashMovement until the exchange finishes it.
    S.PENDING: {S.CONFIRMED, S.REJECTED, S.AMBIGUOUS},
    # Both are settled by replaying the identical create call under the same key.
    S.AMBIGUOUS: {S.SUBMITTING},
    S.OUTCOME_UNKNOWN: {S.SUBMITTING},
    # Nothing was created under the key: a person sends it again (once the cause is fixed) or
    # cancels it.
    S.REFUSED: {S.SUBMITTING, S.CANCELLED},
    S.CONFIRMED: set(),
    S.REJECTED: set(),
    S.DECLINED: set(),
    S.CANCELLED: set(),
}

TERMINAL = frozenset(status for status, moves in ALLOWED.items() if not moves)
# A create call for the request may have reached the exchange: a movement may exist under its
# key, so it is never edited or cancelled, only settled.
MAYBE_AT_EXCHANGE = frozenset({S.SUBMITTING, S.PENDING, S.AMBIGUOUS, S.OUTCOME_UNKNOWN})


class FundingTransitionRefused(FundingError):
    """The request is not (or no longer) in a state that allows the move: another person or
    funding_resume got there first."""

    def __init__(self, request: FundingRequest, to_status: str) -> None:
        super().__init__(
            f"This request is now “{S(request.status).label}”, so it cannot become "
            f"“{S(to_status).label}”."
        )
        self.from_status = request.status
        self.to_status = to_status


def can_move(from_status: str, to_status: str) -> bool:
    return to_status in ALLOWED[from_status]


def _actor_label(actor: Actor, source: str) -> tuple[User | None, str]:
    user = actor if isinstance(actor, User) else None
    return user, user.get_username() if user else source


def history_record(
    *,
    request: FundingRequest,
    from_status: str,
    to_status: str,
    actor: Actor,
    source: str,
    detail: str,
) -> FundingStatusChange:
    user, label = _actor_label(actor, source)
    return FundingStatusChange.objects.create(
        request=request,
        from_status=from_status,
        to_status=to_status,
        actor=user,
        actor_label=label,
        source=source,
        detail=detail[:300],
        occurred_at=timezone.now(),
    )


@transaction.atomic
def funding_request_transition(
    *,
    request: FundingRequest,
    to_status: str,
    actor: Actor,
    source: str,
    detail: str = "",
    changes: dict[str, Any] | None = None,
) -> FundingRequest:
    """Move `request` to `to_status` (with `changes` to its other fields, in the same UPDATE) or
    raise FundingTransitionRefused; nothing else changes a request's state.

    The row is locked and re-read first, so of two callers moving it from the same state only
    the first succeeds; the second sees where the first left it and is refused.
    """
    locked = FundingRequest.objects.select_for_update().get(pk=request.pk)
    if not can_move(locked.status, to_status):
        raise FundingTransitionRefused(locked, to_status)
    now = timezone.now()
    from_status = locked.status
    values = {**(changes or {}), "status": to_status, "status_changed_at": now}
    FundingRequest.objects.filter(pk=locked.pk).update(**values)
    for name, value in values.items():
        setattr(request, name, value)
    history_record(
        request=locked,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        source=source,
        detail=detail,
    )
    audit_record(
        actor=actor,
        action="funding.request.status_changed",
        target=locked,
        payload={"from": from_status, "to": to_status, "source": source},
    )
    return request
