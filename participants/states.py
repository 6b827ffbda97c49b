"""The KYC submission's state machine: the one table of allowed moves, and the one function that
makes a move, writes its history row and audits it."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from backoffice.actors import Actor
from backoffice.audit.services import audit_record
from participants.errors import OnboardingError
from participants.models import KycStatusChange, KycSubmission, Participant

S = KycSubmission.Status

# Where the exchange's answer can take a submission once it has been sent.
_EXCHANGE_OUTCOMES: set[str] = {
    S.AWAITING_PROVISIONING,
    S.DOCUMENT_CHECK,
    S.MANUAL_REVIEW,
    S.RESUBMIT,
    S.APPROVED,
    S.REJECTED,
}

ALLOWED: dict[str, set[str]] = {
    S.HELD_DUPLICATE: {S.PENDING, S.WITHDRAWN},
    S.PENDING: {S.SUBMITTING, S.WITHDRAWN},
    # The send's answer, whichever of the four outcomes it had (or the decision itself).
    S.SUBMITTING: {S.SUBMIT_FAILED, S.SEND_REFUSED, S.OUTCOME_UNKNOWN} | _EXCHANGE_OUTCOMES,
    # Nothing reached the exchange: sent again (by kyc_sync or Retry), or withdrawn.
    S.SUBMIT_FAILED: {S.SUBMITTING, S.WITHDRAWN},
    # The exchange said no: a person decides to try again or to withdraw.
    S.SEND_REFUSED: {S.SUBMITTING, S.WITHDRAWN},
    # Sent, answer lost: settled by reading the exchange's status, never withdrawn blind. Sent
    # again only when the exchange has no record of it.
    S.OUTCOME_UNKNOWN: {S.SUBMITTING} | _EXCHANGE_OUTCOMES,
    S.AWAITING_PROVISIONING: {S.APPROVED, S.REJECTED},
    S.DOCUMENT_CHECK: _EXCHANGE_OUTCOMES - {S.DOCUMENT_CHECK},
    S.MANUAL_REVIEW: _EXCHANGE_OUTCOMES - {S.MANUAL_REVIEW},
    S.RESUBMIT: (_EXCHANGE_OUTCOMES - {S.RESUBMIT}) | {S.WITHDRAWN},
    S.APPROVED: set(),
    S.REJECTED: set(),
    S.WITHDRAWN: set(),
}

# The states a decision of the exchange puts a submission in.
EXCHANGE_DECISIONS = frozenset(_EXCHANGE_OUTCOMES)
OPEN_AT_EXCHANGE = frozenset(
    {S.AWAITING_PROVISIONING, S.DOCUMENT_CHECK, S.MANUAL_REVIEW, S.RESUBMIT}
)
TERMINAL = frozenset(status for status, moves in ALLOWED.items() if not moves)

_PARTICIPANT_STATUS: dict[str, str] = {
    S.APPROVED: Participant.Status.ACTIVE,
    S.REJECTED: Participant.Status.REJECTED,
    S.WITHDRAWN: Participant.Status.WITHDRAWN,
}


class KycTransitionRefused(OnboardingError):
    """The submission is not (or no longer) in a state that allows the move: another person, a
    webhook or kyc_sync got there first."""

    def __init__(self, submission: KycSubmission, to_status: str) -> None:
        current = S(submission.status).label
        super().__init__(
            f"This submission is now “{current}”, so it cannot become “{S(to_status).label}”."
        )
        self.from_status = submission.status
        self.to_status = to_status


def can_move(from_status: str, to_status: str) -> bool:
    return to_status in ALLOWED[from_status]


@transaction.atomic
def kyc_submission_transition(
    *, submission: KycSubmission, to_status: str, actor: Actor, source: str, detail: str = ""
) -> KycSubmission:
    """Move `submission` to `to_status` or raise KycTransitionRefused; nothing else changes state.

    The row is locked and re-read first, so a webhook and a poll arriving together cannot both
    move it from the same starting point.
    """
    locked = KycSubmission.objects.select_for_update().get(pk=submission.pk)
    if not can_move(locked.status, to_status):
        raise KycTransitionRefused(locked, to_status)
    now = timezone.now()
    from_status = locked.status
    KycSubmission.objects.filter(pk=locked.pk).update(status=to_status, status_changed_at=now)
    submission.status = locked.status = to_status
    submission.status_changed_at = now
    user = actor if isinstance(actor, User) else None
    KycStatusChange.objects.create(
        submission=locked,
        from_status=from_status,
        to_status=to_status,
        actor=user,
        actor_label=user.get_username() if user else source,
        source=source,
        detail=detail[:300],
        occurred_at=now,
    )
    if to_status in _PARTICIPANT_STATUS:
        Participant.objects.filter(pk=locked.participant_id).update(
            status=_PARTICIPANT_STATUS[to_status]
        )
    audit_record(
        actor=actor,
        action="participants.kyc.status_changed",
        target=locked,
        payload={"from": from_status, "to": to_status, "source": source},
    )
    return submission
