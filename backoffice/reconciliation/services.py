"""Working a break: assign it, comment on it, resolve it. Each is one transaction with its
timeline entry and its audit event; the row is locked and re-read first, so two people acting at
once cannot both resolve it or lose each other's change."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from backoffice.audit.services import audit_record
from backoffice.identity.permissions import has_permission
from backoffice.inputs import is_clean_text
from backoffice.reconciliation.errors import ReconciliationError
from backoffice.reconciliation.models import Break, BreakEvent, BreakStatus, Resolution
from backoffice.reconciliation.states import require_move

WORK = "reconciliation.work_break"
NOTE_LIMIT = 2000


@dataclass(frozen=True)
class LinkedMovement:
    """The funding request a MONEY_MOVED resolution names, as the funding app describes it."""

    reference: str  # stored on the break: "funding.fundingrequest:12"
    label: str  # "Funding #12 (Deposit 25.00 USD), confirmed"


# `link(*, reference, break_record) -> LinkedMovement`, raising ReconciliationError: the funding
# app's check that a request exists, moved the money (approved by four eyes, confirmed at the
# exchange) and concerns the break's account.
MovementLinker = Callable[..., LinkedMovement]


def _require(actor: User) -> None:
    if not has_permission(actor, WORK):
        raise ReconciliationError("You may not work reconciliation breaks.")


def _text(value: str, *, field: str, label: str, required: bool) -> str:
    text = value.strip()
    if required and not text:
        raise ReconciliationError(f"{label} is required.", field=field)
    if len(text) > NOTE_LIMIT:
        raise ReconciliationError(f"{label}: at most {NOTE_LIMIT} characters.", field=field)
    if not is_clean_text(text):
        raise ReconciliationError(f"{label} contains characters that cannot be kept.", field=field)
    return text


def _event(locked: Break, kind: str, actor: User, text: str) -> None:
    BreakEvent.objects.create(
        break_record=locked, kind=kind, actor=actor, actor_label=actor.get_username(), text=text
    )


def break_assign(*, break_record: Break, assignee: User | None, actor: User) -> Break:
    """Give the break to `assignee` (None: nobody), who must be able to work breaks."""
    _require(actor)
    if assignee is not None and not has_permission(assignee, WORK):
        raise ReconciliationError(
            f"{assignee.get_username()} cannot work breaks, so cannot be assigned one.",
            field="assignee",
        )
    with transaction.atomic():
        locked = Break.objects.select_for_update().get(pk=break_record.pk)
        if not locked.is_open:
            raise ReconciliationError("Only an open break can be assigned.")
        if locked.assignee_id == (assignee.pk if assignee else None):
            return locked
        previous = locked.assignee.get_username() if locked.assignee else ""
        locked.assignee = assignee
        locked.save(update_fields=["assignee"])
        name = assignee.get_username() if assignee else "nobody"
        _event(locked, BreakEvent.Kind.ASSIGNED, actor, f"Assigned to {name}.")
        audit_record(
            actor=actor,
            action="reconciliation.break.assigned",
            target=locked,
            payload={"assignee": assignee.pk if assignee else None, "previous": previous},
        )
    return locked


def break_comment(*, break_record: Break, text: str, actor: User) -> Break:
    _require(actor)
    comment = _text(text, field="text", label="The comment", required=True)
    with transaction.atomic():
        locked = Break.objects.select_for_update().get(pk=break_record.pk)
        _event(locked, BreakEvent.Kind.COMMENT, actor, comment)
        audit_record(actor=actor, action="reconciliation.break.commented", target=locked)
    return locked


def _linker() -> MovementLinker | None:
    path = settings.RECONCILIATION_MOVEMENT_LINKER
    return import_string(path) if path else None


def break_resolve(
    *, break_record: Break, resolution: str, note: str, actor: User, funding_request: str = ""
) -> Break:
    """Resolve the break with a reason code and a note. Money moved needs the funding request
    that moved it (the funding app says whether it did, with its four eyes)."""
    _require(actor)
    if resolution not in Resolution.values:
        raise ReconciliationError("Choose why the break is resolved.", field="resolution")
    text = _text(note, field="note", label="The note", required=True)
    linked: LinkedMovement | None = None
    if resolution == Resolution.MONEY_MOVED:
        linker = _linker()
        if linker is None:
            raise ReconciliationError(
                "No funding app is configured to move money.", field="funding_request"
            )
        if not funding_request.strip():
            raise ReconciliationError(
                "Name the funding request that moved the money.", field="funding_request"
            )
        linked = linker(reference=funding_request.strip(), break_record=break_record)
    with transaction.atomic():
        locked = Break.objects.select_for_update().get(pk=break_record.pk)
        require_move(locked, BreakStatus.RESOLVED)
        locked.status = BreakStatus.RESOLVED
        locked.resolution = resolution
        locked.resolution_note = text
        locked.resolved_by = actor
        locked.closed_at = timezone.now()
        locked.linked_object = linked.reference if linked else ""
        locked.save(
            update_fields=[
                "status",
                "resolution",
                "resolution_note",
                "resolved_by",
                "closed_at",
                "linked_object",
            ]
        )
        label = Resolution(resolution).label
        detail = f"{label}. {text}" + (f" ({linked.label})" if linked else "")
        _event(locked, BreakEvent.Kind.RESOLVED, actor, detail)
        audit_record(
            actor=actor,
            action="reconciliation.break.resolved",
            target=locked,
            payload={"resolution": resolution, "linked": locked.linked_object},
        )
    return locked
