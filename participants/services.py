"""Onboarding services: every change of onboarding state goes through one of these functions."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from backoffice.actors import Actor
from backoffice.audit.services import audit_record
from backoffice.gateway.errors import GatewayError
from backoffice.identity.permissions import has_permission
from backoffice.pii.crypto import pii_hash
from participants import exchange
from participants.models import Account, Firm, KycNote, KycStatusChange, KycSubmission, Participant
from participants.outcomes import KycOutcome, target_status
from participants.presenters import REVEALABLE_FIELDS
from participants.states import TERMINAL, KycTransitionRefused, kyc_submission_transition

logger = logging.getLogger(__name__)
S = KycSubmission.Status

# Fields of the intake form stored on the submission as they are.
_IDENTITY_FIELDS = [
    "ssn",
    "first_name",
    "middle_name",
    "last_name",
    "date_of_birth",
    "email",
    "phone_number",
    "address_line_1",
    "address_line_2",
    "city",
    "state",
    "postal_code",
    "ip_address",
    "session_token",
    "docv_eligible",
    "agreement_signed_at",
]


class OnboardingError(Exception):
    """An onboarding action refused. `field` names the form field at fault, when there is one."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


# --- Intake ---------------------------------------------------------------------------------------


def participant_intake(*, firm: Firm, data: dict[str, Any], actor: User) -> KycSubmission:
    """Record a new participant and its KYC data, then send it to the exchange.

    The record is committed before the exchange is called, so a failed or lost call leaves a
    submission that can be retried. A possible duplicate (the same SSN under another external id)
    is held for compliance instead of being sent.
    """
    try:
        submission = _record_intake(firm=firm, data=data, actor=actor)
    except IntegrityError as exc:  # a concurrent intake took the external id first
        raise OnboardingError("This external id is already used.", field="external_id") from exc
    if submission.status == S.PENDING:
        kyc_submission_send(submission=submission, actor=actor)
        submission.refresh_from_db()
    return submission


@transaction.atomic(durable=True)
def _record_intake(*, firm: Firm, data: dict[str, Any], actor: User) -> KycSubmission:
    external_id = data["external_id"]
    if Participant.objects.filter(firm=firm, external_id=external_id).exists():
        raise OnboardingError("This external id is already used.", field="external_id")
    ssn_hash = pii_hash(data["ssn"])
    duplicate = (
        KycSubmission.objects.filter(participant__firm=firm, ssn_hash=ssn_hash)
        .exclude(status=S.WITHDRAWN)
        .order_by("id")
        .first()
    )
    participant = Participant.objects.create(firm=firm, external_id=external_id)
    status = S.HELD_DUPLICATE if duplicate else S.PENDING
    identity = {name: data.get(name) or "" for name in _IDENTITY_FIELDS}
    identity["docv_eligible"] = bool(data.get("docv_eligible"))
    submission = KycSubmission.objects.create(
        participant=participant,
        status=status,
        ssn_hash=ssn_hash,
        agreement_version=settings.KYC_AGREEMENT_VERSION,
        duplicate_of=duplicate,
        submitted_by=actor,
        **identity,
    )
    KycStatusChange.objects.create(
        submission=submission,
        to_status=status,
        actor=actor,
        actor_label=actor.get_username(),
        source="staff",
    )
    audit_record(
        actor=actor,
        action="participants.kyc.created",
        target=submission,
        payload={"status": status},
    )
    if duplicate:
        audit_record(
            actor=actor,
            action="participants.kyc.duplicate_flagged",
            target=submission,
            payload={"duplicate_of": duplicate.pk},
        )
    return submission


# --- Sending to the exchange ------------------------------------------------------------------------


def kyc_submission_send(*, submission: KycSubmission, actor: Actor) -> KycSubmission:
    """Send (or re-send) a submission to the exchange and record the answer.

    The move to SUBMITTING is committed first and only one caller can make it, so one submission
    is never in flight twice. The exchange keys KYC on external_id, so a re-send after a lost
    answer cannot create a second evaluation either.
    """
    try:
        kyc_submission_transition(
            submission=submission, to_status=S.SUBMITTING, actor=actor, source="staff"
        )
    except KycTransitionRefused as exc:
        raise OnboardingError(f"This submission cannot be sent now ({exc.from_status}).") from exc
    KycSubmission.objects.filter(pk=submission.pk).update(sent_at=timezone.now(), last_error="")
    try:
        outcome = exchange.start_kyc(submission=submission, actor=actor)
    except exchange.AlreadyEvaluated:
        outcome = exchange.fetch_kyc_status(
            external_id=submission.participant.external_id, actor=actor
        )
    except GatewayError as exc:
        message = exchange.describe_failure(exc)
        KycSubmission.objects.filter(pk=submission.pk).update(last_error=message[:300])
        kyc_submission_transition(
            submission=submission,
            to_status=S.SUBMIT_FAILED,
            actor=actor,
            source="exchange",
            detail=message,
        )
        audit_record(
            actor=actor,
            action="participants.kyc.send_failed",
            target=submission,
            payload={"error": exc.code},
        )
        return submission
    audit_record(actor=actor, action="participants.kyc.submitted", target=submission)
    return kyc_outcome_apply(submission=submission, outcome=outcome, actor=actor, source="exchange")


# --- Applying the exchange's answers -----------------------------------------------------------------


@transaction.atomic
def kyc_outcome_apply(
    *, submission: KycSubmission, outcome: KycOutcome, actor: Actor, source: str
) -> KycSubmission:
    """Record what the exchange said (a response, a webhook or a poll) and move the state.

    Answers can arrive out of order: the approval webhook may land before the response to the
    start call is recorded. News older than a decision already held is ignored; a different
    decision is a contradiction and raises KycTransitionRefused.
    """
    locked = KycSubmission.objects.select_for_update().get(pk=submission.pk)
    target = target_status(outcome)
    if locked.status in TERMINAL and target != locked.status:
        if target in TERMINAL:
            raise KycTransitionRefused(locked, target)
        logger.info("KYC #%s: %s answer older than its decision ignored", locked.pk, source)
        submission.refresh_from_db()
        return submission
    updates: dict[str, Any] = {
        "decision": outcome.decision or locked.decision,
        "exchange_status": outcome.exchange_status or locked.exchange_status,
        "exchange_sub_status": outcome.sub_status or locked.exchange_sub_status,
    }
    if outcome.rejection_reason:
        updates["rejection_reason"] = outcome.rejection_reason[:200]
    if target == S.DOCUMENT_CHECK:
        updates["docv_url"], updates["docv_token"] = outcome.docv_url, outcome.docv_token
    elif locked.docv_url or locked.docv_token:
        updates["docv_url"] = updates["docv_token"] = ""  # the link dies with the document check
    if target in {S.APPROVED, S.REJECTED}:
        updates["decided_at"] = timezone.now()
    for name, value in updates.items():
        setattr(locked, name, value)
    locked.save(update_fields=list(updates))
    if target != locked.status:
        kyc_submission_transition(submission=locked, to_status=target, actor=actor, source=source)
    if target == S.APPROVED:
        _record_provisioning(submission=locked, outcome=outcome, actor=actor)
    submission.refresh_from_db()
    return submission


def _record_provisioning(*, submission: KycSubmission, outcome: KycOutcome, actor: Actor) -> None:
    participant = submission.participant
    if participant.participant_id not in ("", outcome.participant_id):
        raise OnboardingError(
            f"The exchange provisioned {outcome.participant_id} but the participant holds {participant.participant_id}."
        )
    Participant.objects.filter(pk=participant.pk).update(participant_id=outcome.participant_id)
    account, created = Account.objects.get_or_create(
        account_id=outcome.account_id, defaults={"participant": participant}
    )
    if account.participant_id != participant.pk:
        raise OnboardingError(
            f"Account {outcome.account_id} already belongs to another participant."
        )
    if created:
        audit_record(
            actor=actor,
            action="participants.account.provisioned",
            target=account,
            payload={"participant": participant.pk},
        )


# --- Staff actions -----------------------------------------------------------------------------------


def kyc_submission_release(*, submission: KycSubmission, actor: User) -> KycSubmission:
    """Compliance decided a flagged duplicate is a different person: send it."""
    kyc_submission_transition(
        submission=submission,
        to_status=S.PENDING,
        actor=actor,
        source="staff",
        detail="duplicate cleared",
    )
    return kyc_submission_send(submission=submission, actor=actor)


def kyc_submission_withdraw(
    *, submission: KycSubmission, actor: User, reason: str
) -> KycSubmission:
    return kyc_submission_transition(
        submission=submission, to_status=S.WITHDRAWN, actor=actor, source="staff", detail=reason
    )


@transaction.atomic
def kyc_submissions_assign(*, submission_ids: list[int], assignee: User | None, actor: User) -> int:
    """Assign submissions to someone (or nobody). Returns how many changed."""
    changed = 0
    for submission in (
        KycSubmission.objects.select_for_update().filter(pk__in=submission_ids).order_by("pk")
    ):
        if submission.assignee_id == (assignee.pk if assignee else None):
            continue
        submission.assignee = assignee
        submission.save(update_fields=["assignee"])
        audit_record(
            actor=actor,
            action="participants.kyc.assigned",
            target=submission,
            payload={"assignee": assignee.get_username() if assignee else None},
        )
        changed += 1
    return changed


@transaction.atomic
def kyc_note_add(*, submission: KycSubmission, text: str, actor: User) -> KycNote:
    note = KycNote.objects.create(submission=submission, author=actor, text=text)
    audit_record(
        actor=actor,
        action="participants.kyc.note_added",
        target=submission,
        payload={"note": note.pk},
    )
    return note


@transaction.atomic
def kyc_pii_reveal(*, submission: KycSubmission, field: str, reason: str, actor: User) -> str:
    """The clear value of one personal field, for a compliance officer who gives a reason."""
    if not has_permission(actor, "participants.reveal_pii"):
        raise OnboardingError("Only compliance may reveal personal data.")
    if field not in REVEALABLE_FIELDS:
        raise OnboardingError(f"Unknown field {field!r}.", field="field")
    reason = reason.strip()
    if len(reason) < 10:
        raise OnboardingError("Give a reason of at least 10 characters.", field="reason")
    audit_record(
        actor=actor,
        action="participants.pii.revealed",
        target=submission,
        payload={"field": field, "reason": reason[:300]},
    )
    if field == "name":
        return " ".join(
            n for n in (submission.first_name, submission.middle_name, submission.last_name) if n
        )
    if field == "address":
        parts = [submission.address_line_1, submission.address_line_2, submission.city]
        return ", ".join(p for p in parts if p) + f", {submission.state} {submission.postal_code}"
    value = getattr(submission, field)
    return value.isoformat() if isinstance(value, dt.date) else str(value or "")
