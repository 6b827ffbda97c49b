"""Onboarding services: every change of onboarding state goes through one of these functions."""

from __future__ import annotations

import datetime as dt
import enum
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from backoffice.actors import Actor
from backoffice.audit.services import audit_record
from backoffice.gateway.client import longest_write_seconds
from backoffice.gateway.errors import AlreadyExists, GatewayError, NotFound, Outcome
from backoffice.identity.permissions import has_permission
from backoffice.pii import masking
from participants import exchange
from participants.errors import ExchangeContradicts, OnboardingError
from participants.models import Account, Firm, KycNote, KycStatusChange, KycSubmission, Participant
from participants.outcomes import KycOutcome, target_status
from participants.presenters import REVEALABLE_FIELDS
from participants.search import submission_hashes
from participants.states import ALLOWED, TERMINAL, KycTransitionRefused, kyc_submission_transition

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
        return kyc_submission_send(submission=submission, actor=actor).submission
    return submission


@transaction.atomic(durable=True)
def _record_intake(*, firm: Firm, data: dict[str, Any], actor: User) -> KycSubmission:
    external_id = data["external_id"]
    if Participant.objects.filter(firm=firm, external_id=external_id).exists():
        raise OnboardingError("This external id is already used.", field="external_id")
    hashes = submission_hashes(
        ssn=data["ssn"],
        email=data["email"],
        phone_number=data["phone_number"],
        first_name=data["first_name"],
        last_name=data["last_name"],
    )
    duplicate = (
        KycSubmission.objects.filter(participant__firm=firm, ssn_hash=hashes["ssn_hash"])
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
        agreement_version=settings.KYC_AGREEMENT_VERSION,
        duplicate_of=duplicate,
        submitted_by=actor,
        **identity,
        **hashes,
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
# Every send has one shape (README, "Calling the exchange"): a durable transaction moves the
# submission to SUBMITTING (only one caller can make that move) and commits; the exchange is
# called after the commit; its answer is recorded in one durable transaction per outcome: state,
# history row, error text and audit event together. Whatever point a crash hits, the story is
# whole and kyc_sync can finish it.

# Where each outcome of a failed send leaves the submission.
_STATUS_AFTER_FAILURE = {
    Outcome.NOT_SENT: S.SUBMIT_FAILED,
    Outcome.MISCONFIGURED: S.SUBMIT_FAILED,
    Outcome.REFUSED: S.SEND_REFUSED,
    Outcome.UNKNOWN: S.OUTCOME_UNKNOWN,
}
# A send whose answer was lost is sent again only this long after it was made, and only if the
# exchange then has no record of it: twice the 30 s after which the exchange's own gateway gives up.
RESEND_AFTER = dt.timedelta(seconds=60)
# What staff's Retry (and kyc_sync) may act on: everything a send can start from.
RETRYABLE = frozenset(status for status, moves in ALLOWED.items() if S.SUBMITTING in moves)


@dataclass(frozen=True)
class SendResult:
    submission: KycSubmission
    failure: Outcome | None = None  # None: the exchange's answer was recorded
    error: GatewayError | None = None  # the gateway's error behind the failure, if one was raised


class Settled(enum.Enum):
    DECIDED = "decided"  # the exchange's evaluation is recorded
    ABSENT = "absent"  # the exchange has no record of it: it may be sent again
    UNREADABLE = "unreadable"  # the exchange could not be asked; still unknown


def kyc_submission_send(*, submission: KycSubmission, actor: Actor) -> SendResult:
    """Send (or send again) a submission and record the exchange's answer.

    A submission whose earlier send has an unknown outcome is first settled by reading the
    exchange's status; it is sent again only when the exchange has no record of it. The exchange
    keys KYC on external_id, and only one caller at a time can move a submission to SUBMITTING,
    so a double click, a Retry racing kyc_sync, or a webhook arriving first never evaluates a
    participant twice.
    """
    if submission.status == S.OUTCOME_UNKNOWN:
        settled, error = kyc_submission_settle(submission=submission, actor=actor)
        if settled is Settled.ABSENT and _may_still_be_arriving(submission):
            KycSubmission.objects.filter(pk=submission.pk, status=S.OUTCOME_UNKNOWN).update(
                last_error=(
                    "Sent; the exchange has no record of it yet, and a send made in the last "
                    "minute may still be arriving. It is asked again shortly, and sent again only "
                    "if the exchange still has no record of it then."
                )
            )
            submission.refresh_from_db()
            return SendResult(submission, Outcome.UNKNOWN)
        if settled is not Settled.ABSENT:
            submission.refresh_from_db()
            return SendResult(submission, error.outcome if error else None, error)
    _begin_send(submission=submission, actor=actor)
    try:
        outcome = exchange.start_kyc(submission=submission, actor=actor)
    except GatewayError as exc:
        if not isinstance(exc, AlreadyExists):
            _record_send_failure(
                submission=submission,
                outcome=exc.outcome,
                message=exchange.describe_failure(exc),
                error=exc.code,
                actor=actor,
            )
            submission.refresh_from_db()
            return SendResult(submission, exc.outcome, exc)
        # 409: the exchange already holds an approved evaluation for this external id.
        try:
            outcome = exchange.fetch_kyc_status(
                external_id=submission.participant.external_id, actor=actor
            )
        except GatewayError as read_exc:
            _record_send_failure(
                submission=submission,
                outcome=Outcome.UNKNOWN,
                message=(
                    "The exchange already holds an evaluation of this participant; reading it "
                    f"failed ({read_exc.code}) and it is being checked."
                ),
                error=read_exc.code,
                actor=actor,
            )
            submission.refresh_from_db()
            return SendResult(submission, Outcome.UNKNOWN, read_exc)
    try:
        _record_send_answer(submission=submission, outcome=outcome, actor=actor)
    except OnboardingError as exc:  # the answer contradicts what we hold: keep ours, say so
        _record_send_failure(
            submission=submission,
            outcome=Outcome.UNKNOWN,
            message=f"The exchange's answer contradicts what is recorded here: {exc.message}"[:300],
            error="conflict",
            actor=actor,
        )
        submission.refresh_from_db()
        return SendResult(submission, Outcome.UNKNOWN)
    submission.refresh_from_db()
    return SendResult(submission)


def _may_still_be_arriving(submission: KycSubmission) -> bool:
    """Whether the last send can still be reaching the exchange: its gateway gives up after 30 s,
    so a status read that finds nothing within RESEND_AFTER of the send proves nothing yet."""
    sent = submission.sent_at
    return sent is not None and timezone.now() - sent < RESEND_AFTER


def _source(actor: Actor) -> str:
    return KycStatusChange.Source.STAFF if actor is not None else KycStatusChange.Source.SYNC


@transaction.atomic(durable=True)
def _begin_send(*, submission: KycSubmission, actor: Actor) -> None:
    try:
        kyc_submission_transition(
            submission=submission, to_status=S.SUBMITTING, actor=actor, source=_source(actor)
        )
    except KycTransitionRefused as exc:
        raise OnboardingError(
            f"This submission cannot be sent now: it is “{S(exc.from_status).label}”."
        ) from exc
    now = timezone.now()
    KycSubmission.objects.filter(pk=submission.pk).update(
        sent_at=now,
        last_error="",
        send_deadline=now + dt.timedelta(seconds=longest_write_seconds()),
    )


@transaction.atomic(durable=True)
def _record_send_failure(
    *, submission: KycSubmission, outcome: Outcome, message: str, error: str, actor: Actor
) -> None:
    locked = KycSubmission.objects.select_for_update().get(pk=submission.pk)
    if locked.status != S.SUBMITTING:
        # A webhook or kyc_sync recorded the exchange's decision while the call was in flight:
        # the decision stands, and this failure no longer says anything about it.
        logger.info("KYC #%s: a failed send answered after %s; kept", locked.pk, locked.status)
        return
    KycSubmission.objects.filter(pk=locked.pk).update(last_error=message, send_deadline=None)
    kyc_submission_transition(
        submission=locked,
        to_status=_STATUS_AFTER_FAILURE[outcome],
        actor=actor,
        source=KycStatusChange.Source.EXCHANGE,
        detail=message,
    )
    audit_record(
        actor=actor,
        action="participants.kyc.send_failed",
        target=locked,
        payload={"outcome": str(outcome), "error": error},
    )


@transaction.atomic(durable=True)
def _record_send_answer(*, submission: KycSubmission, outcome: KycOutcome, actor: Actor) -> None:
    audit_record(actor=actor, action="participants.kyc.submitted", target=submission)
    kyc_outcome_apply(submission=submission, outcome=outcome, actor=actor, source="exchange")


def kyc_submission_settle(
    *, submission: KycSubmission, actor: Actor
) -> tuple[Settled, GatewayError | None]:
    """Ask the exchange what became of a submission whose send has an unknown outcome, and
    record it. A failed read changes no state; its words go to `last_error`."""
    try:
        outcome = exchange.fetch_kyc_status(
            external_id=submission.participant.external_id, actor=actor
        )
    except GatewayError as exc:
        if isinstance(exc, NotFound):
            return Settled.ABSENT, None
        KycSubmission.objects.filter(pk=submission.pk, status=S.OUTCOME_UNKNOWN).update(
            last_error=exchange.describe_unsettled(exc)
        )
        return Settled.UNREADABLE, exc
    source = KycStatusChange.Source.POLL if actor is None else KycStatusChange.Source.STAFF
    with transaction.atomic(durable=True):
        kyc_outcome_apply(submission=submission, outcome=outcome, actor=actor, source=source)
    return Settled.DECIDED, None


@transaction.atomic(durable=True)
def kyc_send_interrupted(*, submission: KycSubmission) -> bool:
    """A send whose deadline passed died with its process (the call itself is bounded by the
    call policy): its outcome is unknown until the exchange is asked. False if it finished."""
    locked = KycSubmission.objects.select_for_update().get(pk=submission.pk)
    if locked.status != S.SUBMITTING or (
        locked.send_deadline is not None and locked.send_deadline > timezone.now()
    ):
        return False
    message = "The send did not finish (its process stopped); the exchange is being asked."
    KycSubmission.objects.filter(pk=locked.pk).update(last_error=message, send_deadline=None)
    kyc_submission_transition(
        submission=locked,
        to_status=S.OUTCOME_UNKNOWN,
        actor=None,
        source=KycStatusChange.Source.SYNC,
        detail=message,
    )
    submission.refresh_from_db()
    return True


# --- Applying the exchange's answers -----------------------------------------------------------------


def kyc_outcome_apply(
    *, submission: KycSubmission, outcome: KycOutcome, actor: Actor, source: str
) -> KycSubmission:
    """Record what the exchange said (a response, a webhook or a poll) and move the state.

    Answers can arrive out of order: the approval webhook may land before the response to the
    start call is recorded. News older than a decision already held is ignored; an answer that
    cannot be applied (a different decision, a move the state machine does not make, an account
    that is someone else's) changes nothing and raises ExchangeContradicts, which callers record
    for a person to decide on (participants/attention.py).
    """
    try:
        return _apply_outcome(submission=submission, outcome=outcome, actor=actor, source=source)
    except OnboardingError as exc:
        raise ExchangeContradicts(exc.message, outcome=outcome) from exc


@transaction.atomic
def _apply_outcome(
    *, submission: KycSubmission, outcome: KycOutcome, actor: Actor, source: str
) -> KycSubmission:
    locked = KycSubmission.objects.select_for_update().get(pk=submission.pk)
    target = target_status(outcome)
    if locked.status in TERMINAL and target != locked.status:
        if target in TERMINAL:
            raise KycTransitionRefused(locked, target)
        logger.info("KYC #%s: %s answer older than its decision ignored", locked.pk, source)
        submission.refresh_from_db()
        return submission
    updates: dict[str, Any] = {
        # The exchange has answered: whatever went wrong sending it no longer applies, and an
        # answer we could apply means we no longer disagree with it (participants/attention.py).
        "last_error": "",
        "send_deadline": None,
        "attention_since": None,
        "attention_reason": "",
        "exchange_view": {},
    }
    if outcome.decision or outcome.exchange_status or outcome.sub_status:
        # The exchange's codes come from one answer, never a mix of an old one and a new one
        # (a webhook carries a status but no decision: "REVIEW" must not outlive the approval).
        updates |= {
            "decision": outcome.decision,
            "exchange_status": outcome.exchange_status,
            "exchange_sub_status": outcome.sub_status,
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
        record_provisioning(submission=locked, outcome=outcome, actor=actor)
    submission.refresh_from_db()
    return submission


def record_provisioning(*, submission: KycSubmission, outcome: KycOutcome, actor: Actor) -> None:
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


def _review_reason(reason: str) -> str:
    reason = reason.strip()
    if len(reason) < 10:
        raise OnboardingError("Give a reason of at least 10 characters.", field="reason")
    return reason[:300]


def kyc_submission_release(*, submission: KycSubmission, actor: User, reason: str) -> SendResult:
    """Compliance decided a flagged duplicate is a different person, and says why: send it. Two
    officers releasing at once: one releases, the other is told it already was."""
    reason = _review_reason(reason)
    try:
        with transaction.atomic(durable=True):
            kyc_submission_transition(
                submission=submission,
                to_status=S.PENDING,
                actor=actor,
                source="staff",
                detail=f"duplicate released: {reason}",
            )
            audit_record(
                actor=actor,
                action="participants.kyc.duplicate_released",
                target=submission,
                payload={"duplicate_of": submission.duplicate_of_id, "reason": reason},
            )
    except KycTransitionRefused as exc:
        raise OnboardingError(
            f"This submission is no longer held: it is “{S(exc.from_status).label}”, "
            "because someone else acted on it first."
        ) from exc
    return kyc_submission_send(submission=submission, actor=actor)


@transaction.atomic
def kyc_submission_withdraw(
    *, submission: KycSubmission, actor: User, reason: str
) -> KycSubmission:
    reason = _review_reason(reason)
    withdrawn = kyc_submission_transition(
        submission=submission, to_status=S.WITHDRAWN, actor=actor, source="staff", detail=reason
    )
    audit_record(
        actor=actor,
        action="participants.kyc.withdrawn",
        target=submission,
        payload={"reason": reason},
    )
    return withdrawn


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
def kyc_docv_link_show(*, submission: KycSubmission, actor: User) -> str:
    """The exchange's document-check link, for the staff member who hands it to the participant.

    Not personal data, but a key to someone's document upload while the check lasts: whoever
    works the case may see it, and each showing is in the audit trail."""
    if not has_permission(actor, "participants.change_kycsubmission"):
        raise OnboardingError("Your roles do not include working onboarding cases.")
    if submission.status != S.DOCUMENT_CHECK or not submission.docv_url:
        raise OnboardingError("There is no document check under way, so no link to hand over.")
    audit_record(actor=actor, action="participants.kyc.docv_link_shown", target=submission)
    return submission.docv_url


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
    if field == "ssn":
        return masking.format_ssn(submission.ssn)
    value = getattr(submission, field)
    return value.isoformat() if isinstance(value, dt.date) else str(value or "")
