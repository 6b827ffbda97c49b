"""Onboarding: the firm, the participants it onboards, their KYC submissions and accounts.

Personal data sits only on the KYC submission (what we sent the exchange, as evidence), encrypted
at rest. The participant holds identifiers: ours (`external_id`) and the exchange's.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from backoffice.pii.fields import EncryptedDateField, EncryptedTextField


class Environment(models.TextChoices):
    PREPROD = "preprod", "Pre-production"
    PROD = "prod", "Production"
    SANDBOX = "sandbox", "Local sandbox"


class Firm(models.Model):
    """The partner firm as the exchange knows it: one per environment."""

    environment = models.CharField(max_length=16, choices=Environment.choices, unique=True)
    client_id = models.CharField(verbose_name="client ID", max_length=128)
    firm_id = models.CharField(
        verbose_name="firm ID", max_length=128, help_text="The exchange's firm id, from whoami."
    )
    display_name = models.CharField(max_length=200, blank=True)
    # Standard Webhooks secrets ("whsec_..."): the current one, and during rotation the previous
    # one, which signatures may still use until the exchange has switched.
    webhook_secret = EncryptedTextField(blank=True)
    webhook_secret_previous = EncryptedTextField(blank=True)
    webhook_url = models.URLField(verbose_name="webhook URL", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.firm_id} ({self.environment})"


class Participant(models.Model):
    class Status(models.TextChoices):
        ONBOARDING = "onboarding", "Onboarding"
        ACTIVE = "active", "Active"
        REJECTED = "rejected", "Rejected"
        WITHDRAWN = "withdrawn", "Withdrawn"

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="participants")
    external_id = models.CharField(
        verbose_name="external ID",
        max_length=49,
        help_text="Our id for the person, sent as external_id.",
    )
    participant_id = models.CharField(
        verbose_name="participant ID",
        max_length=200,
        blank=True,
        help_text="The exchange's id, firms/.../users/...; empty until provisioned.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ONBOARDING)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["firm", "external_id"], name="participant_external_id_unique"
            ),
            models.UniqueConstraint(
                fields=["participant_id"],
                condition=~Q(participant_id=""),
                name="participant_exchange_id_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="participant_status_created"),
            # The participants list pages through one status by id.
            models.Index(fields=["status", "id"], name="participant_status_id"),
            # Staff look participants up by our id alone (admin search, support calls). The search
            # box matches ids by prefix in any case: on PostgreSQL, lower(id) text_pattern_ops
            # indexes serve that (migration 0005; SQLite has no operator classes).
            models.Index(fields=["external_id"], name="participant_external_id"),
        ]

    def __str__(self) -> str:
        return self.external_id


class Account(models.Model):
    """A trading account the exchange provisioned for a participant."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="accounts")
    account_id = models.CharField(
        verbose_name="account ID",
        max_length=200,
        unique=True,
        help_text="firms/ISV-.../accounts/...",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.account_id


class KycStatus(models.TextChoices):
    HELD_DUPLICATE = "held_duplicate", "Held: possible duplicate"
    PENDING = "pending", "Waiting to be sent"
    SUBMITTING = "submitting", "Being sent"
    SUBMIT_FAILED = "submit_failed", "Not sent"
    SEND_REFUSED = "send_refused", "Refused by the exchange"
    OUTCOME_UNKNOWN = "outcome_unknown", "Sent, outcome unknown"
    AWAITING_PROVISIONING = "awaiting_provisioning", "Approved, awaiting account"
    DOCUMENT_CHECK = "document_check", "Document check"
    MANUAL_REVIEW = "manual_review", "Manual review"
    RESUBMIT = "resubmit", "Resubmission requested"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


# Every state in which a submission still needs someone: the onboarding queue's default view.
OPEN_STATUSES = [
    KycStatus.HELD_DUPLICATE,
    KycStatus.PENDING,
    KycStatus.SUBMITTING,
    KycStatus.SUBMIT_FAILED,
    KycStatus.SEND_REFUSED,
    KycStatus.OUTCOME_UNKNOWN,
    KycStatus.AWAITING_PROVISIONING,
    KycStatus.DOCUMENT_CHECK,
    KycStatus.MANUAL_REVIEW,
    KycStatus.RESUBMIT,
]


class KycSubmission(models.Model):
    """One KYC evaluation: every field `POST /v1/kyc/start` takes, and what the exchange decided."""

    Status = KycStatus

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="kyc_submissions"
    )
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.PENDING)

    # Identity, encrypted at rest. The keyed hashes find exact matches (a duplicate SSN, a search
    # by email, phone or full name) without decrypting anything; see participants/search.py.
    ssn = EncryptedTextField(verbose_name="SSN")
    ssn_hash = models.CharField(verbose_name="SSN hash", max_length=64, db_index=True)
    email_hash = models.CharField(max_length=64, blank=True, db_index=True)
    phone_hash = models.CharField(max_length=64, blank=True, db_index=True)
    name_hash = models.CharField(max_length=64, blank=True, db_index=True)
    first_name = EncryptedTextField()
    middle_name = EncryptedTextField(blank=True)
    last_name = EncryptedTextField()
    date_of_birth = EncryptedDateField()
    email = EncryptedTextField()
    phone_number = EncryptedTextField()
    address_line_1 = EncryptedTextField()
    address_line_2 = EncryptedTextField(blank=True)
    city = EncryptedTextField()
    state = EncryptedTextField()
    postal_code = EncryptedTextField()
    country = models.CharField(max_length=2, default="US")
    ip_address = EncryptedTextField(verbose_name="IP address")
    session_token = EncryptedTextField(blank=True)
    docv_eligible = models.BooleanField(verbose_name="eligible for a document check", default=False)
    agreement_version = models.CharField(max_length=64)
    agreement_signed_at = models.DateTimeField()

    # The exchange's answer, passed through as received (informational: control flow keys off
    # the presence of a document check and the webhook's event type).
    decision = models.CharField(max_length=32, blank=True)
    exchange_status = models.CharField(max_length=32, blank=True)
    exchange_sub_status = models.CharField(max_length=64, blank=True)
    rejection_reason = models.CharField(max_length=200, blank=True)
    # The document-check link and token are secrets: encrypted, masked, revealed on request.
    docv_url = EncryptedTextField(verbose_name="document-check link", blank=True)
    docv_token = EncryptedTextField(verbose_name="document-check token", blank=True)
    last_error = models.CharField(
        max_length=300,
        blank=True,
        help_text="Why the last send did not settle, in staff's words; empty once it has. No PII.",
    )

    duplicate_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="An earlier submission of another participant with the same SSN.",
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(default=timezone.now)
    # A run of kyc_sync works the row until then; no other run touches it meanwhile.
    lease_until = models.DateTimeField(null=True, blank=True)
    # When kyc_sync last worked the row: a run leaves alone rows another run worked after it began.
    synced_at = models.DateTimeField(null=True, blank=True)
    # When the send in flight must have ended (the call policy bounds it); past this, the process
    # that sent it died before it could record the answer.
    send_deadline = models.DateTimeField(null=True, blank=True)
    # The exchange's answer when it contradicts our state and cannot be applied: what it said
    # (its codes and ids, never personal data), since when, and why it was not applied. A person
    # adopts it or not (participants/attention.py).
    attention_since = models.DateTimeField(null=True, blank=True)
    attention_reason = models.CharField(max_length=300, blank=True)
    exchange_view = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = "KYC submission"
        permissions = [
            ("reveal_pii", "Can reveal a participant's personal data, giving a reason"),
            (
                "review_duplicate",
                "Can release or withdraw a submission held as a possible duplicate",
            ),
            (
                "adopt_exchange_state",
                "Can adopt the exchange's state for a submission that contradicts it",
            ),
        ]
        indexes = [
            # The queue reads submissions of one state, or the open ones, oldest first (by id):
            # both come straight off an index, however many decided submissions pile up.
            models.Index(fields=["status", "id"], name="kyc_status_id"),
            models.Index(
                fields=["id"], condition=Q(status__in=OPEN_STATUSES), name="kyc_open_queue"
            ),
            models.Index(fields=["assignee", "status"], name="kyc_assignee_status"),
            models.Index(
                fields=["id"], condition=Q(attention_since__isnull=False), name="kyc_attention"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(country="US"),
                name="kyc_country_us",
                violation_error_message="Only US participants can be onboarded.",
            ),
        ]

    def __str__(self) -> str:
        return f"KYC #{self.pk} ({self.get_status_display()})"


class KycStatusChange(models.Model):
    """One move of a submission's state: the timeline an examiner reads."""

    submission = models.ForeignKey(KycSubmission, on_delete=models.PROTECT, related_name="history")
    from_status = models.CharField(max_length=24, choices=KycSubmission.Status.choices, blank=True)
    to_status = models.CharField(max_length=24, choices=KycSubmission.Status.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=150)

    class Source(models.TextChoices):
        STAFF = "staff", "Staff"
        EXCHANGE = "exchange", "Exchange response"
        WEBHOOK = "webhook", "Webhook"
        POLL = "poll", "Status poll"
        SYNC = "sync", "Background sync"

    source = models.CharField(max_length=32, choices=Source.choices)
    detail = models.CharField(max_length=300, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "KYC status change"
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '∅'} → {self.to_status}"


class KycNote(models.Model):
    submission = models.ForeignKey(KycSubmission, on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(max_length=2000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "KYC note"
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Note by {self.author_id} on KYC #{self.submission_id}"


class WebhookDelivery(models.Model):
    """Each webhook the exchange delivered, by its id, so a replay is recognised and ignored.

    Only identifiers are kept: the payload may carry a date of birth.
    """

    class Outcome(models.TextChoices):
        RECEIVED = "received", "Received"
        APPLIED = "applied", "Applied"
        TEST = "test", "Registration test"
        CONFLICT = "conflict", "Contradicts our state"
        UNKNOWN_EXTERNAL_ID = "unknown_external_id", "Unknown external id"
        IGNORED_EVENT_TYPE = "ignored_event_type", "Event type not handled"

    webhook_id = models.CharField(verbose_name="webhook ID", max_length=100, unique=True)
    event_type = models.CharField(max_length=40)
    external_id = models.CharField(verbose_name="external ID", max_length=49, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=40, choices=Outcome.choices)

    class Meta:
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event_type} {self.webhook_id}"
