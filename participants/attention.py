"""Submissions whose state here and the exchange's view disagree, and the one way out: a person
adopts the exchange's state, giving a reason.

The exchange's answer sometimes cannot be applied: it contradicts a decision already held (a
rejection after an approval), asks for a move our state machine does not make (an evaluation
back in review while we wait for the account), or provisions an account that belongs to someone
else. Such an answer is not applied and not retried forever as a failure: it is recorded beside
our state ("needs attention"), the queue shows both side by side, and compliance decides. Nothing
is decided automatically: a contradiction is exactly what a person must look at.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from backoffice.audit.services import audit_record
from participants.errors import OnboardingError
from participants.models import KycStatusChange, KycSubmission, Participant
from participants.outcomes import KycOutcome, target_status
from participants.services import record_provisioning

S = KycSubmission.Status

logger = logging.getLogger(__name__)

# Where a person may move a submission by adopting the exchange's view: from any state in which
# the exchange has an evaluation of it, to any state an exchange answer can mean. Our own
# bookkeeping states (pending, being sent...) and a withdrawal are never the exchange's to set.
_EXCHANGE_STATES: set[str] = {
    S.AWAITING_PROVISIONING,
    S.DOCUMENT_CHECK,
    S.MANUAL_REVIEW,
    S.RESUBMIT,
    S.APPROVED,
    S.REJECTED,
}
ADOPTABLE: dict[str, set[str]] = {
    state: _EXCHANGE_STATES - {state} for state in (*_EXCHANGE_STATES, S.OUTCOME_UNKNOWN)
}

_PARTICIPANT_STATUS: dict[str, str] = {
    S.APPROVED: Participant.Status.ACTIVE,
    S.REJECTED: Participant.Status.REJECTED,
}


def can_adopt(from_status: str, to_status: str) -> bool:
    return to_status in ADOPTABLE.get(from_status, set())


@transaction.atomic
def kyc_attention_record(
    *, submission: KycSubmission, outcome: KycOutcome, reason: str, source: str
) -> bool:
    """Record the exchange's view of a submission it contradicts. True when this is news (the
    submission was not already flagged with the same view), so a job can say so once."""
    locked = KycSubmission.objects.select_for_update().get(pk=submission.pk)
    view = {"status": target_status(outcome), **asdict(outcome)}
    view.pop("docv_token")  # a secret: the document-check link is never copied out
    view.pop("docv_url")
    if locked.attention_since is not None and locked.exchange_view == view:
        return False
    KycSubmission.objects.filter(pk=locked.pk).update(
        attention_since=locked.attention_since or timezone.now(),
        attention_reason=reason[:300],
        exchange_view=view,
    )
    audit_record(
        actor=None,
        action="participants.kyc.needs_attention",
        target=locked,
        payload={"ours": locked.status, "exchange": view["status"], "source": source},
    )
    logger.warning("KYC #%s needs attention: %s", locked.pk, reason)
    return True


@transaction.atomic(durable=True)
def kyc_exchange_state_adopt(*, submission: KycSubmission, actor: User, reason: str) -> str:
    """Move a flagged submission to the state the exchange reported, as a person decided, and
    return that state. Refused (OnboardingError) when it is no longer flagged, when the move is
    not one a person may make, or when the exchange's view cannot be applied (an account that
    belongs to another participant)."""
    reason = reason.strip()
    if len(reason) < 10:
        raise OnboardingError("Give a reason of at least 10 characters.", field="reason")
    locked = KycSubmission.objects.select_for_update().get(pk=submission.pk)
    if locked.attention_since is None:
        raise OnboardingError("This submission no longer needs attention: nothing to adopt.")
    view: dict[str, Any] = dict(locked.exchange_view)
    to_status = str(view.get("status", ""))
    if not can_adopt(locked.status, to_status):
        raise OnboardingError(
            f"The exchange's view (“{S(to_status).label if to_status in S.values else to_status}”) "
            f"cannot replace “{S(locked.status).label}”."
        )
    from_status = locked.status
    now = timezone.now()
    fields = {"status": to_status, "status_changed_at": now, "last_error": ""}
    if view.get("rejection_reason"):
        fields["rejection_reason"] = str(view["rejection_reason"])[:200]
    if to_status in {S.APPROVED, S.REJECTED}:
        fields["decided_at"] = now
    KycSubmission.objects.filter(pk=locked.pk).update(
        **fields, attention_since=None, attention_reason="", exchange_view={}
    )
    KycStatusChange.objects.create(
        submission=locked,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        actor_label=actor.get_username(),
        source=KycStatusChange.Source.STAFF,
        detail=f"adopted the exchange's state: {reason}"[:300],
        occurred_at=now,
    )
    Participant.objects.filter(pk=locked.participant_id).update(
        status=_PARTICIPANT_STATUS.get(to_status, Participant.Status.ONBOARDING)
    )
    if to_status == S.APPROVED:
        record_provisioning(
            submission=locked,
            outcome=KycOutcome(
                participant_id=str(view.get("participant_id", "")),
                account_id=str(view.get("account_id", "")),
            ),
            actor=actor,
        )
    audit_record(
        actor=actor,
        action="participants.kyc.exchange_state_adopted",
        target=locked,
        payload={"from": from_status, "to": to_status, "reason": reason[:300]},
    )
    return to_status
