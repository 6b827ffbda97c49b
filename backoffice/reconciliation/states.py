"""A break's states: open until a person resolves it or a run no longer finds it. Both ends are
final: a difference found again after its break was closed is a new break, with its own story."""

from __future__ import annotations

from backoffice.reconciliation.errors import ReconciliationError
from backoffice.reconciliation.models import Break, BreakStatus

S = BreakStatus

ALLOWED: dict[str, set[str]] = {
    S.OPEN: {S.RESOLVED, S.CLOSED},
    S.RESOLVED: set(),
    S.CLOSED: set(),
}


def can_move(from_status: str, to_status: str) -> bool:
    return to_status in ALLOWED[from_status]


def require_move(locked: Break, to_status: str) -> None:
    """Refuse a move the table does not allow, in words for staff."""
    if not can_move(locked.status, to_status):
        raise ReconciliationError(
            f"This break is now “{S(locked.status).label}”, so it cannot become "
            f"“{S(to_status).label}”."
        )
