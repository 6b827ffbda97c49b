"""Funding: deposit and withdrawal requests, their approvals, and the cash movements they become.

Under the partner funding model the firm's wallet provider holds participants' money off the
exchange; on the exchange money moves only between the firm's pooled funding account and a
participant's account, by a `CreateCashMovement` transfer (API.md 5.3.1). A request is made by one
staff member and approved by another (two others above the supervisor threshold), then sent once
under the idempotency key it was created with. The exchange's read model does not echo the
account, reference or memo, so they are kept here beside its workflow id.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from participants.models import Account, Participant


class Direction(models.TextChoices):
    DEPOSIT = "deposit", "Deposit"
    WITHDRAWAL = "withdrawal", "Withdrawal"


class FundingStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    APPROVED = "approved", "Approved, waiting to be sent"
    # A create call is in flight (or its process died before recording the answer).
    SUBMITTING = "submitting", "Being sent"
    # The exchange's own non-final outcomes.
    PENDING = "pending", "Pending at the exchange"
    AMBIGUOUS = "ambiguous", "Ambiguous at the exchange"
    # Sent, and no usable answer came back.
    OUTCOME_UNKNOWN = "outcome_unknown", "Sent, outcome unknown"
    CONFIRMED = "confirmed", "Confirmed"
    # The exchange's workflow ended REJECTED (e.g. insufficient funds): no money moved.
    REJECTED = "rejected", "Rejected by the exchange"
    # The exchange refused the call itself (unknown account, bad field): nothing was created.
    REFUSED = "refused", "Refused by the exchange"
    DECLINED = "declined", "Declined by a checker"
    CANCELLED = "cancelled", "Cancelled"


S = FundingStatus

# Approved by enough people: every state from APPROVED on.
APPROVED_STATUSES = [
    S.APPROVED,
    S.SUBMITTING,
    S.PENDING,
    S.AMBIGUOUS,
    S.OUTCOME_UNKNOWN,
    S.CONFIRMED,
    S.REJECTED,
    S.REFUSED,
]
# Approved and not yet final at the exchange: the funding queue's "in flight".
IN_FLIGHT_STATUSES = [S.APPROVED, S.SUBMITTING, S.PENDING, S.AMBIGUOUS, S.OUTCOME_UNKNOWN]
# Not final: every state someone or something still has to move on.
OPEN_STATUSES = [S.DRAFT, S.AWAITING_APPROVAL, *IN_FLIGHT_STATUSES, S.REFUSED]
# A person should look: the exchange refused it, its outcome is not settled, or sending failed.
ATTENTION = Q(status__in=[S.REFUSED, S.AMBIGUOUS, S.OUTCOME_UNKNOWN]) | (
    Q(status=S.APPROVED) & ~Q(last_error="")
)


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


class FundingRequest(models.Model):
    Status = FundingStatus
    Direction = Direction

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="funding_requests"
    )
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="funding_requests")
    direction = models.CharField(max_length=10, choices=Direction.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    external_reference = models.CharField(
        max_length=100,
        unique=True,
        help_text="The firm's journal or wallet-instruction reference, sent to the exchange.",
    )
    memo = models.CharField(max_length=200, blank=True)
    # Created with the request, stored before any call, and sent with every call for it, so the
    # exchange creates at most one movement whatever is retried or replayed.
    idempotency_key = models.CharField(
        max_length=64, unique=True, default=new_idempotency_key, editable=False
    )

    status = models.CharField(max_length=20, choices=S.choices, default=S.DRAFT)
    status_changed_at = models.DateTimeField(default=timezone.now)
    # Raised by every edit: an approval names the version it approved, so a checker never
    # approves figures that changed after the page was opened.
    version = models.PositiveIntegerField(default=1)

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    # Above FUNDING_SUPERVISOR_THRESHOLD, decided at the first approval: a supervisor approves too.
    supervisor_required = models.BooleanField(default=False)
    second_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    second_approved_at = models.DateTimeField(null=True, blank=True)
    staff_reason = models.CharField(
        max_length=300, blank=True, help_text="Why it was declined or cancelled."
    )

    # The exchange's side, as it answered.
    workflow_id = models.CharField(verbose_name="workflow ID", max_length=64, blank=True)
    dco_transfer_id = models.CharField(verbose_name="DCO transfer ID", max_length=100, blank=True)
    exchange_status = models.CharField(max_length=40, blank=True)
    rejection_reason = models.CharField(max_length=200, blank=True)
    exchange_error = models.CharField(
        max_length=40, blank=True, help_text="The code of the exchange's last refusal."
    )
    last_error = models.CharField(
        max_length=300,
        blank=True,
        help_text="Why it is not settled yet, in staff's words; empty once it is. No PII.",
    )
    # Sending: the state the call in flight started from (it decides where a failed call leaves
    # the request), when that call must have ended, and how many create calls were made.
    sent_from_status = models.CharField(max_length=20, choices=S.choices, blank=True)
    send_deadline = models.DateTimeField(null=True, blank=True)
    send_attempts = models.PositiveIntegerField(default=0)
    first_sent_at = models.DateTimeField(null=True, blank=True)
    # A run of funding_resume reading a pending movement holds the row until then.
    lease_until = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        permissions = [
            ("approve_fundingrequest", "Can approve or decline another person's funding request"),
            (
                "approve_large_fundingrequest",
                "Can give the supervisor's second approval above the threshold",
            ),
        ]
        indexes = [
            # The queue reads one state (or the open ones) oldest first, straight off an index.
            models.Index(fields=["status", "id"], name="funding_status_id"),
            models.Index(fields=["id"], condition=Q(status__in=OPEN_STATUSES), name="funding_open"),
            models.Index(fields=["id"], condition=ATTENTION, name="funding_attention"),
            models.Index(fields=["participant", "-id"], name="funding_participant"),
            models.Index(fields=["direction", "id"], name="funding_direction_id"),
            # Today's confirmed deposits and withdrawals on the balance page.
            models.Index(
                fields=["settled_at"],
                condition=Q(status=S.CONFIRMED),
                name="funding_confirmed_at",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="funding_amount_positive",
                violation_error_message="The amount must be positive.",
            ),
            models.CheckConstraint(condition=Q(currency="USD"), name="funding_currency_usd"),
            models.CheckConstraint(
                condition=Q(direction__in=Direction.values), name="funding_direction_known"
            ),
            models.CheckConstraint(condition=Q(status__in=S.values), name="funding_status_known"),
            # Four eyes: whoever requests never approves, and the two approvers differ. No role
            # or flag is an exception, superusers included.
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("requested_by")),
                name="funding_approver_not_requester",
                violation_error_message="Whoever requests a movement cannot approve it.",
            ),
            models.CheckConstraint(
                condition=Q(second_approved_by__isnull=True)
                | (
                    Q(approved_by__isnull=False)
                    & ~Q(second_approved_by=F("requested_by"))
                    & ~Q(second_approved_by=F("approved_by"))
                ),
                name="funding_second_approver_distinct",
                violation_error_message="The second approval needs a third person.",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=APPROVED_STATUSES) | Q(approved_by__isnull=False),
                name="funding_approved_has_approver",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=APPROVED_STATUSES)
                | Q(supervisor_required=False)
                | Q(second_approved_by__isnull=False),
                name="funding_large_has_supervisor",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[S.DECLINED, S.CANCELLED]) | ~Q(staff_reason=""),
                name="funding_closed_has_reason",
            ),
            models.UniqueConstraint(
                fields=["workflow_id"], condition=~Q(workflow_id=""), name="funding_workflow_unique"
            ),
            models.UniqueConstraint(
                fields=["dco_transfer_id"],
                condition=~Q(dco_transfer_id=""),
                name="funding_dco_transfer_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"Funding #{self.pk} ({self.get_direction_display()} {self.amount} {self.currency})"

    @property
    def reason(self) -> str:
        """The exchange's TransferReason for this direction."""
        return "DEPOSIT" if self.direction == Direction.DEPOSIT else "WITHDRAWAL"


class FundingStatusChange(models.Model):
    """One entry of a request's timeline: a move of its state, or an edit or a first approval
    that left the state where it was (then from_status == to_status)."""

    class Source(models.TextChoices):
        STAFF = "staff", "Staff"
        EXCHANGE = "exchange", "Exchange response"
        RESUME = "resume", "funding_resume"

    request = models.ForeignKey(FundingRequest, on_delete=models.PROTECT, related_name="history")
    from_status = models.CharField(max_length=20, choices=S.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=S.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    source = models.CharField(max_length=16, choices=Source.choices)
    detail = models.CharField(max_length=300, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["request", "occurred_at"], name="funding_history")]

    def __str__(self) -> str:
        return f"{self.from_status or '∅'} → {self.to_status}"


class PoolTopUp(models.Model):
    """Money the firm put into its pooled funding account at the exchange (a wire, recorded by
    treasury): the first term of the pool identity."""

    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    reference = models.CharField(max_length=100, unique=True)
    memo = models.CharField(max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "pool top-up"
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="pool_topup_amount_positive"),
            models.CheckConstraint(condition=Q(currency="USD"), name="pool_topup_currency_usd"),
        ]

    def __str__(self) -> str:
        return f"Top-up {self.reference} ({self.amount} {self.currency})"


class PoolTotals(models.Model):
    """Running totals of the pool identity, one row per currency, moved in the same transaction
    as each confirmation or top-up, so the balance page checks the identity in one read however
    many movements there have been."""

    currency = models.CharField(max_length=3, primary_key=True)
    top_ups = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    deposits = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    withdrawals = models.DecimalField(max_digits=16, decimal_places=2, default=0)

    class Meta:
        verbose_name_plural = "pool totals"

    def __str__(self) -> str:
        return f"Pool totals ({self.currency})"

    @property
    def expected_balance(self) -> Decimal:
        return self.top_ups - self.deposits + self.withdrawals
