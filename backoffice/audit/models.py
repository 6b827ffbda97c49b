"""The append-only audit trail: who did what, saw what, and asked the exchange what."""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.utils import timezone

from backoffice import clock


class AuditTrailIsAppendOnly(Exception):
    """Raised on any attempt to change or remove an audit event."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AuditTrailIsAppendOnly("audit events cannot be updated")

    def delete(self) -> NoReturn:
        raise AuditTrailIsAppendOnly("audit events cannot be deleted")


class AuditEvent(models.Model):
    """One thing that happened. The payload is small and never holds PII: it names objects by id.

    Rows are only ever inserted: the model refuses saves of existing rows and deletes, and a
    database trigger (migration 0002) refuses UPDATE and DELETE from anywhere else too.
    """

    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The staff member; empty for the system (commands, webhooks).",
    )
    # Kept beside the key so the trail still reads right if a user is renamed; for system work it
    # names the origin, such as "command:kyc_sync" or "webhook:kyc".
    actor_label = models.CharField(max_length=150)
    action = models.CharField(
        max_length=100, help_text="Dotted code, e.g. participants.kyc.submitted"
    )
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(verbose_name="object ID", max_length=64, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    client_ip = models.GenericIPAddressField(verbose_name="client IP", null=True, blank=True)
    request_id = models.CharField(verbose_name="request ID", max_length=64, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["action", "-occurred_at"], name="audit_action_time"),
            models.Index(fields=["actor", "-occurred_at"], name="audit_actor_time"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
        ]

    def __str__(self) -> str:
        return f"{clock.display(self.occurred_at, seconds=True)} {self.actor_label} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AuditTrailIsAppendOnly("audit events cannot be changed once written")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AuditTrailIsAppendOnly("audit events cannot be deleted")
