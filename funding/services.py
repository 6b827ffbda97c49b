"""Funding services: every change of a funding request goes through one of these functions.

Four eyes: whoever requests a movement never approves it; above FUNDING_SUPERVISOR_THRESHOLD a
supervisor approves it as well, a third person; an edit drops every approval. No role is an
exception (the database refuses it too).

Sending has one shape (README, "Calling the exchange"):
1. a durable transaction moves the request to SUBMITTING, a move only one caller can make, with
   its timeline entry and audit event, and commits;
2. the exchange is called after the commit, with the idempotency key stored when the request was
   created, so a replay can never create a second movement;
3. the answer is recorded in one durable transaction per outcome: the row is locked, and if it is
   no longer SUBMITTING another path has settled it and nothing is recorded; otherwise state,
   timeline, exchange ids, error text and audit event are written together.
Whatever point a crash hits, the story is whole and funding_resume can finish it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from backoffice.actors import Actor
from backoffice.audit.services import audit_record
from backoffice.gateway.client import longest_write_seconds
from backoffice.gateway.errors import GatewayError, Outcome
from backoffice.gateway.results import CashMovement
from backoffice.identity.permissions import has_permission
from backoffice.inputs import is_clean_text
from funding import exchange
from funding.errors import FundingError
from funding.models import Direction, FundingRequest, FundingStatusChange, PoolTopUp, PoolTotals
from funding.states import FundingTransitionRefused, funding_request_transition, history_record
from participants.models import Account, Participant

logger = logging.getLogger(__name__)
S = FundingRequest.Status
Source = FundingStatusChange.Source

MAX_AMOUNT = Decimal("1000000000.00")
CENT = Decimal("0.01")
# Where a send starts afresh (the free-cash check applies) rather than replaying a movement that
# may already exist (it must not: the movement itself may be what lowered the free cash).
_FIRST_SENDS = frozenset({S.APPROVED, S.REFUSED})
_REPLAYS = frozenset({S.AMBIGUOUS, S.OUTCOME_UNKNOWN})
_STATUS_OF_MOVEMENT = {
    "CASH_MOVEMENT_STATUS_CONFIRMED": S.CONFIRMED,
    "CASH_MOVEMENT_STATUS_REJECTED": S.REJECTED,
    "CASH_MOVEMENT_STATUS_PENDING": S.PENDING,
    "CASH_MOVEMENT_STATUS_AMBIGUOUS": S.AMBIGUOUS,
}
LEASE = dt.timedelta(minutes=2)


@dataclass(frozen=True)
class SendResult:
    request: FundingRequest
    error: GatewayError | None = None  # the gateway's error, when a call failed


def usd(value: Decimal) -> str:
    return f"${value:,.2f}"


def _source(actor: Actor) -> str:
    return Source.STAFF if isinstance(actor, User) else Source.RESUME


def _require(actor: User, permission: str, what: str) -> None:
    if not has_permission(actor, permission):
        raise FundingError(f"You may not {what}.")


# --- Input ---------------------------------------------------------------------------------------


def clean_amount(value: Any) -> Decimal:
    """A positive US dollar amount with at most two decimal places, or FundingError naming it."""
    try:
        amount = Decimal(str(value).strip().replace(",", "").removeprefix("$"))
    except (InvalidOperation, ValueError):
        raise FundingError("Enter an amount in dollars, e.g. 250.00.", field="amount") from None
    if not amount.is_finite():
        raise FundingError("Enter an amount in dollars, e.g. 250.00.", field="amount")
    if amount != amount.quantize(CENT):
        raise FundingError("An amount has at most two decimal places (cents).", field="amount")
    if amount <= 0:
        raise FundingError("The amount must be more than zero.", field="amount")
    if amount > MAX_AMOUNT:
        raise FundingError(f"The amount must be at most {usd(MAX_AMOUNT)}.", field="amount")
    return amount.quantize(CENT)


def _clean_text(value: str, *, field: str, label: str, limit: int, required: bool) -> str:
    text = " ".join(str(value).split())
    if not is_clean_text(text):
        raise FundingError(f"The {label} holds characters that cannot be stored.", field=field)
    if required and not text:
        raise FundingError(f"Give the {label}.", field=field)
    if len(text) > limit:
        raise FundingError(f"The {label} is at most {limit} characters.", field=field)
    return text


def _clean_reason(reason: str) -> str:
    text = " ".join(reason.split())
    if not is_clean_text(text):
        raise FundingError("The reason holds characters that cannot be stored.", field="reason")
    if len(text) < 10:
        raise FundingError("Give a reason of at least 10 characters.", field="reason")
    return text[:300]


def check_account(account: Account) -> None:
    """Money moves only for a participant the exchange has approved and provisioned."""
    participant = account.participant
    if participant.status != Participant.Status.ACTIVE or not participant.participant_id:
        raise FundingError(
            f"Participant {participant.external_id} is not active at the exchange "
            f"({participant.get_status_display()}); no money can move for them yet.",
            field="account",
        )


# --- Making and editing a request --------------------------------------------------------------


def _clean_figures(*, amount: Any, external_reference: str, memo: str) -> dict[str, Any]:
    """What a maker types, checked the same way on creation and on every edit."""
    return {
        "amount": clean_amount(amount),
        "external_reference": _clean_text(
            external_reference,
            field="external_reference",
            label="reference",
            limit=100,
            required=True,
        ),
        "memo": _clean_text(memo, field="memo", label="memo", limit=200, required=False),
    }


def funding_request_create(
    *,
    account: Account,
    direction: str,
    amount: Any,
    external_reference: str,
    memo: str,
    actor: User,
    for_approval: bool,
) -> FundingRequest:
    """Record a deposit or withdrawal request, as a draft or sent for approval at once."""
    _require(actor, "funding.add_fundingrequest", "request deposits or withdrawals")
    if direction not in Direction.values:
        raise FundingError("Choose deposit or withdrawal.", field="direction")
    values = _clean_figures(amount=amount, external_reference=external_reference, memo=memo)
    check_account(account)
    try:
        return _record_create(
            account=account,
            direction=direction,
            values=values,
            actor=actor,
            for_approval=for_approval,
        )
    except IntegrityError as exc:  # a concurrent request took the reference first
        raise _reference_taken() from exc


def _reference_taken() -> FundingError:
    return FundingError(
        "Another request already has this reference: each wallet instruction is one request.",
        field="external_reference",
    )


@transaction.atomic(durable=True)
def _record_create(
    *, account: Account, direction: str, values: dict[str, Any], actor: User, for_approval: bool
) -> FundingRequest:
    if FundingRequest.objects.filter(external_reference=values["external_reference"]).exists():
        raise _reference_taken()
    request = FundingRequest.objects.create(
        participant=account.participant,
        account=account,
        direction=direction,
        requested_by=actor,
        **values,
    )
    history_record(
        request=request,
        from_status="",
        to_status=S.DRAFT,
        actor=actor,
        source=Source.STAFF,
        detail=f"{request.get_direction_display()} of {usd(request.amount)} requested",
    )
    audit_record(
        actor=actor,
        action="funding.request.created",
        target=request,
        payload={"direction": direction, "amount": str(request.amount), "account": account.pk},
    )
    if for_approval:
        funding_request_transition(
            request=request, to_status=S.AWAITING_APPROVAL, actor=actor, source=Source.STAFF
        )
    return request


def funding_request_edit(
    *,
    request: FundingRequest,
    amount: Any,
    external_reference: str,
    memo: str,
    actor: User,
    version: int,
) -> FundingRequest:
    """Change a request not yet approved. Every approval it had is dropped: approvers approve
    figures, and these are new ones."""
    values = _clean_figures(amount=amount, external_reference=external_reference, memo=memo)
    try:
        _record_edit(request=request, values=values, actor=actor, version=version)
    except IntegrityError as exc:
        raise _reference_taken() from exc
    request.refresh_from_db()
    return request


@transaction.atomic(durable=True)
def _record_edit(
    *, request: FundingRequest, values: dict[str, Any], actor: User, version: int
) -> None:
    locked = FundingRequest.objects.select_for_update().get(pk=request.pk)
    if locked.requested_by_id != actor.pk:
        raise FundingError("Only the person who requested it can edit it.")
    if locked.status not in (S.DRAFT, S.AWAITING_APPROVAL):
        raise FundingError(f"It is now “{S(locked.status).label}”, so it can no longer be edited.")
    if locked.send_attempts:
        raise FundingError(
            "It was handed to the exchange before, so its figures stay as they were sent; "
            "cancel it and make a new request instead."
        )
    if locked.version != version:
        raise _edited_meanwhile()
    changed = {
        name: (getattr(locked, name), value)
        for name, value in values.items()
        if getattr(locked, name) != value
    }
    if not changed:
        return
    if (
        "external_reference" in changed
        and FundingRequest.objects.filter(external_reference=values["external_reference"])
        .exclude(pk=locked.pk)
        .exists()
    ):
        raise _reference_taken()
    dropped = locked.approved_by
    FundingRequest.objects.filter(pk=locked.pk).update(
        **values,
        version=locked.version + 1,
        approved_by=None,
        approved_at=None,
        second_approved_by=None,
        second_approved_at=None,
        supervisor_required=False,
        last_error="",
    )
    words = [
        f"amount {usd(old)} → {usd(new)}"
        if name == "amount"
        else f"{name.replace('_', ' ')} changed"
        for name, (old, new) in changed.items()
    ]
    if dropped is not None:
        words.append(f"the approval by {dropped.get_username()} was dropped")
    history_record(
        request=locked,
        from_status=locked.status,
        to_status=locked.status,
        actor=actor,
        source=Source.STAFF,
        detail="Edited: " + "; ".join(words),
    )
    audit_record(
        actor=actor,
        action="funding.request.edited",
        target=locked,
        payload={
            "fields": sorted(changed),
            "version": locked.version + 1,
            "approvals_dropped": dropped is not None,
        },
    )


def _edited_meanwhile() -> FundingError:
    return FundingError(
        "The request was edited after you opened it; look at the new figures and decide again."
    )


def funding_request_send_for_approval(*, request: FundingRequest, actor: User) -> FundingRequest:
    if request.requested_by_id != actor.pk:
        raise FundingError("Only the person who requested it can send it for approval.")
    with transaction.atomic(durable=True):
        funding_request_transition(
            request=request, to_status=S.AWAITING_APPROVAL, actor=actor, source=Source.STAFF
        )
    return request


# --- Approving, declining, cancelling ----------------------------------------------------------


def supervisor_threshold() -> Decimal:
    return Decimal(settings.FUNDING_SUPERVISOR_THRESHOLD)


def approval_stage(request: FundingRequest, actor: User) -> str:
    """Which approval `actor` would give ("first" or "second"), or FundingError saying why not."""
    if request.requested_by_id == actor.pk:
        raise FundingError("You requested this movement, so another person must approve it.")
    if request.approved_by_id is None:
        _require(actor, "funding.approve_fundingrequest", "approve funding requests")
        return "first"
    if request.approved_by_id == actor.pk:
        raise FundingError(
            "You approved this request already; a supervisor must give the second approval."
        )
    _require(
        actor,
        "funding.approve_large_fundingrequest",
        f"give the second approval (requests above {usd(supervisor_threshold())} need a supervisor)",
    )
    return "second"


def funding_request_approve(
    *, request: FundingRequest, actor: User, version: int
) -> FundingRequest:
    """Approve a request awaiting approval; once approved by everyone it needs, send it.

    A withdrawal's free cash is read from the exchange first and a withdrawal above it is
    refused with the figures. The approval is committed before the exchange is called.
    """
    request.refresh_from_db()
    if request.status != S.AWAITING_APPROVAL:
        raise _not_awaiting(request, actor)
    approval_stage(request, actor)
    figures = None
    if request.direction == Direction.WITHDRAWAL:
        try:
            figures = exchange.free_cash(request=request, actor=actor)
        except GatewayError as exc:
            raise FundingError(
                f"Not approved: the participant's free cash could not be read "
                f"({exchange.describe_failure(exc)}). Try again in a moment."
            ) from exc
        if request.amount > figures.free:
            audit_record(
                actor=actor,
                action="funding.request.approval_refused",
                target=request,
                payload={"amount": str(request.amount), **figures.as_payload()},
            )
            raise FundingError(
                f"Not approved: the withdrawal of {usd(request.amount)} is more than the "
                f"participant's {figures.describe()}."
            )
    completed = _record_approval(request=request, actor=actor, version=version, figures=figures)
    if completed:
        # funding_resume may pick it up between the approval and this send: then it sends it.
        with contextlib.suppress(FundingTransitionRefused):
            funding_request_submit(request=request, actor=actor)
    request.refresh_from_db()
    return request


def _not_awaiting(request: FundingRequest, actor: User) -> FundingError:
    if actor.pk in (request.approved_by_id, request.second_approved_by_id):
        return FundingError(
            f"You approved this request already; it is now “{S(request.status).label}”."
        )
    return FundingTransitionRefused(request, S.APPROVED)


@transaction.atomic(durable=True)
def _record_approval(
    *,
    request: FundingRequest,
    actor: User,
    version: int,
    figures: exchange.FreeCash | None,
) -> bool:
    """Record `actor`'s approval under the row's lock; True when the request is now approved."""
    locked = FundingRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status != S.AWAITING_APPROVAL:
        raise _not_awaiting(locked, actor)
    if locked.version != version:
        raise _edited_meanwhile()
    stage = approval_stage(locked, actor)
    now = timezone.now()
    payload: dict[str, Any] = {"stage": stage, "version": version, "amount": str(locked.amount)}
    if figures is not None:
        payload.update(figures.as_payload())
    checked = f"; {figures.describe()}" if figures is not None else ""
    if stage == "first":
        large = locked.amount > supervisor_threshold()
        changes: dict[str, Any] = {
            "approved_by": actor,
            "approved_at": now,
            "supervisor_required": large,
            "last_error": "",
        }
        if large:
            FundingRequest.objects.filter(pk=locked.pk).update(**changes)
            history_record(
                request=locked,
                from_status=locked.status,
                to_status=locked.status,
                actor=actor,
                source=Source.STAFF,
                detail=f"First approval{checked}; above {usd(supervisor_threshold())}, a supervisor must approve too",
            )
            audit_record(
                actor=actor, action="funding.request.approved", target=locked, payload=payload
            )
            return False
    else:
        changes = {"second_approved_by": actor, "second_approved_at": now, "last_error": ""}
    funding_request_transition(
        request=locked,
        to_status=S.APPROVED,
        actor=actor,
        source=Source.STAFF,
        detail=("Approved" if stage == "first" else "Second approval, by a supervisor") + checked,
        changes=changes,
    )
    audit_record(actor=actor, action="funding.request.approved", target=locked, payload=payload)
    return True


def funding_request_decline(*, request: FundingRequest, actor: User, reason: str) -> FundingRequest:
    """A checker refuses a request awaiting approval, giving the reason. Final."""
    reason = _clean_reason(reason)
    if request.requested_by_id == actor.pk:
        raise FundingError("You requested this movement; cancel it instead of declining it.")
    _require(actor, "funding.approve_fundingrequest", "decline funding requests")
    with transaction.atomic(durable=True):
        _close(request=request, to_status=S.DECLINED, actor=actor, reason=reason)
    return request


def funding_request_cancel(*, request: FundingRequest, actor: User, reason: str) -> FundingRequest:
    """Withdraw a request nothing of which is at the exchange: before it was sent, or after the
    exchange refused it (nothing was created under its key)."""
    reason = _clean_reason(reason)
    _require(actor, "funding.add_fundingrequest", "cancel funding requests")
    with transaction.atomic(durable=True):
        locked = FundingRequest.objects.select_for_update().get(pk=request.pk)
        if locked.exchange_error == "already_exists":
            raise FundingError(
                "The exchange holds another movement under this request's key, so it cannot "
                "be cancelled here; reconcile it with the exchange first."
            )
        _close(request=request, to_status=S.CANCELLED, actor=actor, reason=reason)
    return request


def _close(*, request: FundingRequest, to_status: str, actor: User, reason: str) -> None:
    """Decline or cancel, with its reason on the timeline and in the audit trail."""
    _record_move(
        request=request,
        to_status=to_status,
        actor=actor,
        source=Source.STAFF,
        detail=reason,
        changes={"staff_reason": reason},
        action=f"funding.request.{to_status}",
        payload={"reason": reason},
    )


# --- Sending ---------------------------------------------------------------------------------------


def funding_request_submit(
    *, request: FundingRequest, actor: Actor, unchanged_since: dt.datetime | None = None
) -> SendResult:
    """Send an approved request, send again one the exchange refused, or replay one whose
    outcome is not settled, and record the answer. FundingError when another caller is sending
    it, has settled it, or (with `unchanged_since`) moved it after that moment."""
    started_from = _begin_send(request=request, actor=actor, unchanged_since=unchanged_since)
    error: GatewayError | None = None
    if started_from in _FIRST_SENDS and request.direction == Direction.WITHDRAWAL:
        try:
            figures = exchange.free_cash(request=request, actor=actor)
        except GatewayError as exc:
            _record_not_sent(
                request=request,
                actor=actor,
                message=f"Not sent: the free cash could not be read just before sending ({exchange.describe_failure(exc)}). It stays approved and is sent by the next run of funding_resume.",
                error=exc.code,
            )
            request.refresh_from_db()
            return SendResult(request, exc)
        if request.amount > figures.free:
            _record_short(request=request, actor=actor, figures=figures)
            request.refresh_from_db()
            return SendResult(request)
    try:
        movement = exchange.send_movement(request=request, actor=actor)
    except GatewayError as exc:
        error = exc
        _record_failure(request=request, exc=exc, actor=actor)
    else:
        _record_answer(request=request, movement=movement, actor=actor, expected=S.SUBMITTING)
    request.refresh_from_db()
    return SendResult(request, error)


@transaction.atomic(durable=True)
def _begin_send(
    *, request: FundingRequest, actor: Actor, unchanged_since: dt.datetime | None
) -> str:
    locked = FundingRequest.objects.select_for_update().get(pk=request.pk)
    started_from = locked.status
    if unchanged_since is not None and locked.status_changed_at >= unchanged_since:
        raise FundingError("Another run of funding_resume worked this request meanwhile.")
    deadline = timezone.now() + dt.timedelta(seconds=longest_write_seconds())
    funding_request_transition(
        request=request,
        to_status=S.SUBMITTING,
        actor=actor,
        source=_source(actor),
        detail="Replayed under the same key"
        if started_from in _REPLAYS
        else "Sent to the exchange",
        # The last refusal or error was about an earlier call; this one will have its own.
        changes={
            "sent_from_status": started_from,
            "send_deadline": deadline,
            "last_error": "",
            "exchange_error": "",
        },
    )
    return started_from


def _sent_changes(locked: FundingRequest) -> dict[str, Any]:
    """What every recorded answer to a create call writes: the call is over, and was made."""
    return {
        "send_deadline": None,
        "send_attempts": locked.send_attempts + 1,
        "first_sent_at": locked.first_sent_at or timezone.now(),
    }


def _status_after_failure(outcome: Outcome, started_from: str) -> str:
    """Where a failed create call leaves a request, by what is known of the call and where it
    started: nothing sent goes back where it was; a replay never forgets that a movement may
    exist; AMBIGUOUS is the exchange's word and stays until it gives a final one."""
    if started_from == S.AMBIGUOUS:
        return S.AMBIGUOUS
    if outcome in (Outcome.NOT_SENT, Outcome.MISCONFIGURED):
        return S.OUTCOME_UNKNOWN if started_from == S.OUTCOME_UNKNOWN else S.APPROVED
    if outcome is Outcome.UNKNOWN:
        return S.OUTCOME_UNKNOWN
    return S.REFUSED


def _failure_message(exc: GatewayError, started_from: str, target: str) -> str:
    cause = exchange.describe_failure(exc)
    if target == S.APPROVED:
        if exc.outcome is Outcome.MISCONFIGURED:
            return f"Not sent: {cause}. It stays approved and is sent once that is fixed."
        return (
            f"Not sent: {cause}. It stays approved and is sent by the next run of funding_resume."
        )
    if target == S.REFUSED:
        return (
            f"Refused: {cause}. No movement was created; send it again once the cause is "
            "fixed, or cancel it."
        )
    if started_from in _REPLAYS:
        return f"Sent; the exchange's answer is still not known and is being checked (the replay failed: {cause})."
    return f"Sent; the exchange's answer is not known yet and is being checked ({cause})."


@transaction.atomic(durable=True)
def _record_failure(*, request: FundingRequest, exc: GatewayError, actor: Actor) -> None:
    locked = FundingRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status != S.SUBMITTING:
        # funding_resume judged this send dead and settled the request meanwhile: what it
        # recorded stands, and this failure no longer says anything about it.
        logger.info("funding #%s: a failed send answered after %s; kept", locked.pk, locked.status)
        return
    started_from = locked.sent_from_status
    target = _status_after_failure(exc.outcome, started_from)
    message = _failure_message(exc, started_from, target)
    changes = {**_sent_changes(locked), "last_error": message[:300]}
    if target == S.REFUSED:
        changes["exchange_error"] = exc.code[:40]
    _record_move(
        request=locked,
        to_status=target,
        actor=actor,
        source=Source.EXCHANGE,
        detail=message,
        changes=changes,
        action="funding.request.send_failed",
        payload={"outcome": str(exc.outcome), "error": exc.code},
    )


@transaction.atomic(durable=True)
def _record_not_sent(*, request: FundingRequest, actor: Actor, message: str, error: str) -> None:
    """The check before sending failed: nothing was sent, and it goes back to APPROVED."""
    locked = FundingRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status != S.SUBMITTING:
        return
    _record_move(
        request=locked,
        to_status=S.APPROVED,
        actor=actor,
        source=_source(actor),
        detail=message,
        changes={"send_deadline": None, "last_error": message[:300]},
        action="funding.request.send_failed",
        payload={"outcome": str(Outcome.NOT_SENT), "error": error},
    )


@transaction.atomic(durable=True)
def _record_short(*, request: FundingRequest, actor: Actor, figures: exchange.FreeCash) -> None:
    """Just before sending, the withdrawal is above the free cash: it is not sent, and goes back
    for approval with its approvals dropped, since what they approved no longer holds."""
    locked = FundingRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status != S.SUBMITTING:
        return
    message = (
        f"Not sent: the withdrawal of {usd(locked.amount)} is more than the participant's "
        f"{figures.describe()} just before sending. It needs approving again."
    )
    _record_move(
        request=locked,
        to_status=S.AWAITING_APPROVAL,
        actor=actor,
        source=_source(actor),
        detail=message,
        changes={
            "send_deadline": None,
            "last_error": message[:300],
            "approved_by": None,
            "approved_at": None,
            "second_approved_by": None,
            "second_approved_at": None,
            "supervisor_required": False,
        },
        action="funding.request.free_cash_short",
        payload={"amount": str(locked.amount), **figures.as_payload()},
    )


def _mismatch(request: FundingRequest, movement: CashMovement) -> str:
    """Why the exchange's movement is not this request's, or "" when it is."""
    if movement.idempotency_key and movement.idempotency_key != request.idempotency_key:
        return "it carries another idempotency key"
    if movement.amount != request.amount:
        return f"its amount is {usd(movement.amount)}"
    if movement.reason not in (
        "",
        "TRANSFER_REASON_UNSPECIFIED",
        f"TRANSFER_REASON_{request.reason}",
    ):
        return f"its reason is {movement.reason}"
    return ""


def _answer_message(movement: CashMovement, target: str) -> str:
    if target == S.CONFIRMED:
        return f"Confirmed by the exchange (transfer {movement.dco_transfer_id or 'id not given'})"
    if target == S.REJECTED:
        return f"Rejected by the exchange: {movement.rejection_reason or 'no reason given'}. No money moved."
    if target == S.PENDING:
        return "The exchange holds it as pending; funding_resume asks until it is final"
    return "The exchange reports its outcome as ambiguous; funding_resume replays it under the same key until it is final"


@transaction.atomic(durable=True)
def _record_answer(
    *, request: FundingRequest, movement: CashMovement, actor: Actor, expected: str
) -> None:
    """Record the exchange's movement for a request that is still `expected` (SUBMITTING after
    a create call, PENDING after a read); otherwise another path settled it: record nothing."""
    locked = FundingRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status != expected:
        logger.info("funding #%s: an answer arrived after %s; kept", locked.pk, locked.status)
        return
    changes: dict[str, Any] = (
        _sent_changes(locked) if expected == S.SUBMITTING else {"lease_until": None}
    )
    mismatch = _mismatch(locked, movement)
    target = _STATUS_OF_MOVEMENT.get(movement.status, "")
    if mismatch or not target:
        problem = mismatch or f"it answered with status {movement.status}, which is not one we know"
        message = f"Sent; the exchange's answer could not be matched to this request ({problem}); it is being checked."
        _record_unsettled(locked, expected=expected, actor=actor, message=message, changes=changes)
        return
    changes.update(
        workflow_id=movement.workflow_id or locked.workflow_id,
        dco_transfer_id=movement.dco_transfer_id or locked.dco_transfer_id,
        exchange_status=movement.status,
        rejection_reason=movement.rejection_reason[:200],
        exchange_error="",
        last_error="",
    )
    if target in (S.CONFIRMED, S.REJECTED):
        changes["settled_at"] = timezone.now()
    message = _answer_message(movement, target)
    if target == locked.status:  # still pending: nothing moves
        FundingRequest.objects.filter(pk=locked.pk).update(**changes)
        return
    _record_move(
        request=locked,
        to_status=target,
        actor=actor,
        source=Source.EXCHANGE,
        detail=message,
        changes=changes,
        action="funding.request.answered",
        payload={"status": movement.status, "workflow_id": movement.workflow_id},
    )
    if target == S.CONFIRMED:
        _count_confirmed(locked)


def _record_unsettled(
    locked: FundingRequest, *, expected: str, actor: Actor, message: str, changes: dict[str, Any]
) -> None:
    changes["last_error"] = message[:300]
    if expected != S.SUBMITTING:  # a read: the state stays what the exchange last said
        FundingRequest.objects.filter(pk=locked.pk).update(**changes)
        return
    funding_request_transition(
        request=locked,
        to_status=S.OUTCOME_UNKNOWN,
        actor=actor,
        source=Source.EXCHANGE,
        detail=message,
        changes=changes,
    )


def _record_move(
    *,
    request: FundingRequest,
    to_status: str,
    actor: Actor,
    source: str,
    detail: str,
    changes: dict[str, Any],
    action: str,
    payload: dict[str, Any],
) -> None:
    """A move with what it records beside it: the timeline entry, and an audit event saying
    why (the move's own event says from and to)."""
    funding_request_transition(
        request=request,
        to_status=to_status,
        actor=actor,
        source=source,
        detail=detail,
        changes=changes,
    )
    audit_record(actor=actor, action=action, target=request, payload=payload)


def _bump_totals(currency: str, **amounts: Decimal) -> None:
    """Add to the pool identity's running totals, in the caller's transaction."""
    increments = {name: F(name) + value for name, value in amounts.items()}
    if PoolTotals.objects.filter(currency=currency).update(**increments):
        return
    try:
        with transaction.atomic():
            PoolTotals.objects.create(currency=currency, **amounts)
    except IntegrityError:  # created meanwhile by another confirmation
        PoolTotals.objects.filter(currency=currency).update(**increments)


def _count_confirmed(request: FundingRequest) -> None:
    field = "deposits" if request.direction == Direction.DEPOSIT else "withdrawals"
    _bump_totals(request.currency, **{field: request.amount})


# --- Settling what is not final (funding_resume) ----------------------------------------------------


@transaction.atomic(durable=True)
def funding_send_interrupted(*, request: FundingRequest) -> bool:
    """A send past its deadline died with its process (the call itself is bounded by its call
    policy): whether it reached the exchange is unknown until it is replayed under its key.
    False if it finished meanwhile."""
    locked = FundingRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status != S.SUBMITTING or (
        locked.send_deadline is not None and locked.send_deadline > timezone.now()
    ):
        return False
    message = "The send did not finish (its process stopped); it is replayed under the same key."
    funding_request_transition(
        request=locked,
        to_status=S.AMBIGUOUS if locked.sent_from_status == S.AMBIGUOUS else S.OUTCOME_UNKNOWN,
        actor=None,
        source=Source.RESUME,
        detail=message,
        changes={**_sent_changes(locked), "last_error": message},
    )
    request.refresh_from_db()
    return True


def funding_request_check(*, request: FundingRequest) -> bool:
    """Read a pending movement from the exchange and record what it says. False when another
    run holds the request."""
    now = timezone.now()
    taken = FundingRequest.objects.filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now), pk=request.pk, status=S.PENDING
    ).update(lease_until=now + LEASE)
    if not taken:
        return False
    try:
        movement = exchange.read_movement(workflow_id=request.workflow_id, actor=None)
    except GatewayError as exc:
        FundingRequest.objects.filter(pk=request.pk, status=S.PENDING).update(
            lease_until=None,
            last_error=f"Pending at the exchange; asking it failed ({exchange.describe_failure(exc)}) and it is asked again."[
                :300
            ],
        )
        raise
    _record_answer(request=request, movement=movement, actor=None, expected=S.PENDING)
    return True


# --- The pool ----------------------------------------------------------------------------------------


def pool_topup_record(*, amount: Any, reference: str, memo: str, actor: User) -> PoolTopUp:
    """Record money the firm put into its funding account at the exchange."""
    _require(actor, "funding.add_pooltopup", "record top-ups of the funding account")
    value = clean_amount(amount)
    ref = _clean_text(reference, field="reference", label="reference", limit=100, required=True)
    note = _clean_text(memo, field="memo", label="memo", limit=200, required=False)
    try:
        with transaction.atomic(durable=True):
            topup = PoolTopUp.objects.create(
                amount=value, reference=ref, memo=note, recorded_by=actor
            )
            _bump_totals(topup.currency, top_ups=value)
            audit_record(
                actor=actor,
                action="funding.pool.topped_up",
                target=topup,
                payload={"amount": str(value), "reference": ref},
            )
    except IntegrityError as exc:
        raise FundingError(
            "A top-up with this reference is already recorded.", field="reference"
        ) from exc
    return topup
