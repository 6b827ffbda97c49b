"""Writing the audit trail. Call `audit_record` inside the transaction of the change it describes."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import models

from backoffice import context
from backoffice.actors import Actor
from backoffice.audit.models import AuditEvent

# Keys that must never reach the trail, whatever a caller passes: the payload is for ids and codes.
_FORBIDDEN_PAYLOAD_KEYS = frozenset(
    {
        "ssn",
        "date_of_birth",
        "dob",
        "email",
        "phone",
        "phone_number",
        "address",
        "ip_address",
        "first_name",
        "last_name",
        "middle_name",
        "password",
        "token",
        "secret",
        "docv_url",
    }
)


def audit_record(
    *,
    actor: Actor,
    action: str,
    target: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    payload: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. `target` (or object_type/object_id) names what it concerns."""
    payload = payload or {}
    leaked = _FORBIDDEN_PAYLOAD_KEYS.intersection(payload)
    if leaked:
        raise ValueError(f"audit payload must not carry PII or secrets: {sorted(leaked)}")
    if target is not None:
        object_type = target._meta.label_lower
        object_id = target.pk
    request = context.current()
    user = actor if isinstance(actor, User) else None
    if user is not None:
        label = user.get_username()
    elif request and request.origin:
        label = request.origin
    else:
        label = "anonymous" if actor is not None else "system"
    return AuditEvent.objects.create(
        actor=user,
        actor_label=label[:150],
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        payload=payload,
        client_ip=request.client_ip if request else None,
        request_id=request.request_id if request else "",
    )
