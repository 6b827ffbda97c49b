"""The record of every attempt the gateway made at the exchange (never a secret, never PII)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from backoffice import clock


class GatewayCall(models.Model):
    """One attempt at one exchange endpoint: who it was for, how it went, how long it took.

    No request or response bodies, no tokens, no keys and no personal data: the exchange ids an
    answer carried (workflow id, order id, participant id...) are kept so a call can be matched to
    what the domain apps stored.
    """

    OK = "ok"

    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    environment = models.CharField(max_length=16)
    operation = models.CharField(max_length=64, help_text="The gateway method, e.g. kyc_start.")
    method = models.CharField(max_length=8)
    endpoint = models.CharField(
        max_length=120, help_text="Path template, e.g. /v1/instruments/{symbol}/settlement."
    )
    participant_id = models.CharField(verbose_name="participant ID", max_length=200, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The staff member the call was made for; empty for system work.",
    )
    origin = models.CharField(
        max_length=100, blank=True, help_text='What asked when no one did, e.g. "command:kyc_sync".'
    )
    attempt = models.PositiveSmallIntegerField(default=1)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    outcome = models.CharField(
        max_length=40, help_text='"ok" or the error class, e.g. Unavailable.'
    )
    error_code = models.CharField(max_length=40, blank=True)
    latency_ms = models.PositiveIntegerField()
    idempotency_key = models.CharField(max_length=100, blank=True)
    exchange_ids = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(verbose_name="request ID", max_length=64, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["operation", "-started_at"], name="gateway_call_operation"),
            models.Index(fields=["outcome", "-started_at"], name="gateway_call_outcome"),
            models.Index(fields=["actor", "-started_at"], name="gateway_call_actor"),
            models.Index(fields=["participant_id", "-started_at"], name="gateway_call_participant"),
            models.Index(fields=["request_id"], name="gateway_call_request"),
            models.Index(fields=["idempotency_key"], name="gateway_call_idempotency"),
        ]

    def __str__(self) -> str:
        return f"{clock.display(self.started_at, seconds=True)} {self.method} {self.endpoint} #{self.attempt} {self.outcome}"

    @property
    def succeeded(self) -> bool:
        return self.outcome == self.OK


class RateLimitSlot(models.Model):
    """The schedule of one client-side rate limit, shared by every process (ratelimit.py): when
    the family's next slot opens, in wall-clock seconds."""

    key = models.CharField(max_length=200, primary_key=True, help_text="firm/family")
    tat = models.FloatField(help_text="When the next call may go, less what a burst allows.")

    def __str__(self) -> str:
        return self.key
