"""The support cancel's state machine: the one table of allowed moves, and the one function that
makes a move, writes its history row and audits it."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from backoffice.actors import Actor
from backoffice.audit.services import audit_record
from trading.errors import TradingError
from trading.models import OrderCancel, OrderCancelChange

S = OrderCancel.Status

ALLOWED: dict[str, set[str]] = {
    # The send's answer, whichever of the four outcomes it had.
    S.SENDING: {S.REQUESTED, S.REFUSED, S.NOT_SENT, S.OUTCOME_UNKNOWN},
    # Sent, answer lost: settled by reading the exchange's open orders, never sent blind.
    S.OUTCOME_UNKNOWN: {S.REQUESTED, S.NOT_SENT},
    S.REQUESTED: set(),
    S.REFUSED: set(),
    S.NOT_SENT: set(),
}
IN_FLIGHT = frozenset({S.SENDING, S.OUTCOME_UNKNOWN})
FINAL = frozenset(status for status, moves in ALLOWED.items() if not moves)


class CancelTransitionRefused(TradingError):
    def __init__(self, cancel: OrderCancel, to_status: str) -> None:
        super().__init__(
            f"This cancel is now “{S(cancel.status).label}”, so it cannot become "
            f"“{S(to_status).label}”."
        )


def can_move(from_status: str, to_status: str) -> bool:
    return to_status in ALLOWED[from_status]


@transaction.atomic
def order_cancel_transition(
    *, cancel: OrderCancel, to_status: str, actor: Actor, source: str, message: str
) -> OrderCancel:
    """Move `cancel` to `to_status` (with the words staff see) or raise CancelTransitionRefused."""
    locked = OrderCancel.objects.select_for_update().get(pk=cancel.pk)
    if not can_move(locked.status, to_status):
        raise CancelTransitionRefused(locked, to_status)
    now = timezone.now()
    from_status = locked.status
    OrderCancel.objects.filter(pk=locked.pk).update(
        status=to_status,
        message=message[:500],
        finished_at=now if to_status in FINAL else None,
    )
    OrderCancelChange.objects.create(
        cancel=locked,
        from_status=from_status,
        to_status=to_status,
        source=source,
        detail=message[:500],
        occurred_at=now,
    )
    audit_record(
        actor=actor,
        action="trading.order_cancel.status_changed",
        target=locked,
        payload={"order": locked.order.exchange_id, "from": from_status, "to": to_status},
    )
    locked.refresh_from_db()
    cancel.status, cancel.message, cancel.finished_at = (
        locked.status,
        locked.message,
        locked.finished_at,
    )
    return cancel
