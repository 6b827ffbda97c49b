"""Reconciliation: the nightly runs that compare the firm's records with the exchange's, and the
breaks they find, which people own until they are resolved.

The platform knows no domain: what is compared comes from the checks listed in
BACKOFFICE_RECONCILIATION_CHECKS (the funding and trading apps provide them). A break names its
check, its type, the account and the thing compared (an instrument, a transfer), both sides'
figures and the evidence. Each difference has one open break whatever how many nights it is seen
(the database holds that: one open break per check and key); a difference that no longer appears
is closed by the run that no longer finds it, with that reason.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class RunState(models.TextChoices):
    RUNNING = "running", "Running"
    COMPLETE = "complete", "Complete"
    # Finished, but the exchange failed part-way: some accounts were not checked (named on the
    # run), and nothing was concluded about them.
    INCOMPLETE = "incomplete", "Incomplete"
    FAILED = "failed", "Failed"


class ReconciliationRun(models.Model):
    State = RunState

    business_date = models.DateField()
    window_start = models.DateTimeField(help_text="The previous business date's cut-off.")
    window_end = models.DateTimeField(help_text="This business date's cut-off.")
    state = models.CharField(max_length=12, choices=RunState.choices, default=RunState.RUNNING)
    # What was asked: the accounts it was limited to (empty: every account) and the checks, in
    # the order they run.
    accounts = models.JSONField(default=list, blank=True)
    checks = models.JSONField(default=list)
    # Where each check has got to: {check: {"cursor": "...", "done": bool}}, written in the same
    # transaction as the breaks of the page it follows, so a killed run resumes exactly there.
    checkpoint = models.JSONField(default=dict)
    # {check: {"accounts": n, "items": n, "breaks": n, "timing": n}}
    counts = models.JSONField(default=dict)
    # {account: why it was not checked}; "" stands for the firm-level figures (the pool).
    not_checked = models.JSONField(default=dict, blank=True)
    breaks_found = models.PositiveIntegerField(default=0)
    breaks_opened = models.PositiveIntegerField(default=0)
    breaks_closed = models.PositiveIntegerField(default=0)
    timing_differences = models.PositiveIntegerField(default=0)
    # Open breaks by type when the run finished: the dashboard's chart over time.
    open_by_type = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=500, blank=True)

    origin = models.CharField(max_length=100, help_text="Who started it: command:reconcile, ...")
    holder = models.CharField(max_length=200, help_text="host:pid of the process running it.")
    lease_until = models.DateTimeField()
    resumes = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    heartbeat_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(default=0, help_text="Working time, summed over resumes.")

    class Meta:
        constraints = [
            # One run at a time, whatever the date: a second start finds this row.
            models.UniqueConstraint(
                fields=["state"], condition=Q(state="running"), name="reconciliation_one_running"
            ),
            models.CheckConstraint(
                condition=Q(state__in=RunState.values), name="reconciliation_run_state_known"
            ),
            models.CheckConstraint(
                condition=Q(window_end__gt=models.F("window_start")),
                name="reconciliation_run_window",
            ),
        ]
        indexes = [models.Index(fields=["business_date", "-id"], name="reconciliation_run_date")]

    def __str__(self) -> str:
        return f"Run #{self.pk} for {self.business_date}"

    @property
    def finished(self) -> bool:
        return self.state != RunState.RUNNING


class BreakType(models.TextChoices):
    MISSING_AT_EXCHANGE = "missing_at_exchange", "Missing at the exchange"
    MISSING_HERE = "missing_here", "Missing here"
    AMOUNT_MISMATCH = "amount_mismatch", "Amount mismatch"
    QUANTITY_MISMATCH = "quantity_mismatch", "Quantity mismatch"
    DUPLICATE = "duplicate", "Duplicate"
    UNEXPECTED_ENTRY = "unexpected_entry", "Unexpected entry"


class BreakStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"
    # Closed by a run that no longer found the difference.
    CLOSED = "closed", "Closed: no longer found"


class Resolution(models.TextChoices):
    CORRECTED_HERE = "corrected_here", "Corrected in our records"
    CORRECTED_AT_EXCHANGE = "corrected_at_exchange", "Corrected by the exchange"
    # Needs a funding request (with its four eyes) that moved the money.
    MONEY_MOVED = "money_moved", "Money moved by a funding request"
    TIMING = "timing", "Timing difference, cleared"
    WRITTEN_OFF = "written_off", "Accepted and written off"
    NOT_A_BREAK = "not_a_break", "Not a break (explained)"


class Break(models.Model):
    Type = BreakType
    Status = BreakStatus

    check_name = models.CharField(max_length=40, help_text="The check that found it.")
    key = models.CharField(max_length=400, help_text="What the difference is about, per check.")
    break_type = models.CharField(max_length=24, choices=BreakType.choices)
    account = models.CharField(max_length=200, blank=True, help_text="Empty: firm-level.")
    subject = models.CharField(max_length=200, blank=True, help_text="Instrument, transfer, ...")
    unit = models.CharField(max_length=12, default="USD")
    ours = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    theirs = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    difference = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    summary = models.CharField(max_length=300)
    evidence = models.JSONField(default=dict, blank=True)

    status = models.CharField(max_length=10, choices=BreakStatus.choices, default=BreakStatus.OPEN)
    first_run = models.ForeignKey(
        ReconciliationRun, on_delete=models.PROTECT, related_name="breaks_first_found"
    )
    last_run = models.ForeignKey(
        ReconciliationRun, on_delete=models.PROTECT, related_name="breaks_last_found"
    )
    first_date = models.DateField(help_text="The business date it was first found for.")
    last_date = models.DateField(help_text="The latest business date it was found for.")
    opened_at = models.DateTimeField(default=timezone.now)

    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reconciliation_breaks",
    )
    resolution = models.CharField(max_length=24, choices=Resolution.choices, blank=True)
    resolution_note = models.TextField(blank=True)
    # The funding request that moved the money (MONEY_MOVED), as the funding app names it.
    linked_object = models.CharField(max_length=100, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True, help_text="Resolved or closed.")
    closed_by_run = models.ForeignKey(
        ReconciliationRun, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            # Re-running a date, or finding the same difference night after night, updates the
            # one open break instead of adding another.
            models.UniqueConstraint(
                fields=["check_name", "key"],
                condition=Q(status="open"),
                name="reconciliation_one_open_break",
            ),
            models.CheckConstraint(
                condition=Q(break_type__in=BreakType.values), name="reconciliation_break_type"
            ),
            models.CheckConstraint(
                condition=Q(status__in=BreakStatus.values), name="reconciliation_break_status"
            ),
            models.CheckConstraint(
                condition=~Q(status="resolved")
                | (~Q(resolution="") & Q(resolved_by__isnull=False) & ~Q(resolution_note="")),
                name="reconciliation_resolved_has_reason",
                violation_error_message="A resolution needs its reason, a note and who made it.",
            ),
            models.CheckConstraint(
                condition=~Q(resolution="money_moved") | ~Q(linked_object=""),
                name="reconciliation_money_moved_is_linked",
                violation_error_message="Money moved: the funding request must be named.",
            ),
            models.CheckConstraint(
                condition=Q(status="open") | Q(closed_at__isnull=False),
                name="reconciliation_closed_has_time",
            ),
        ]
        indexes = [
            # The breaks page reads one status (and type, or assignee) newest first by id.
            models.Index(fields=["status", "-id"], name="break_status"),
            models.Index(fields=["status", "break_type", "-id"], name="break_status_type"),
            models.Index(fields=["assignee", "status", "-id"], name="break_assignee"),
            models.Index(fields=["last_run", "-id"], name="break_last_run"),
            models.Index(fields=["first_run", "-id"], name="break_first_run"),
            # A page of accounts closes what it no longer finds; a participant page lists its own.
            models.Index(fields=["check_name", "account"], name="break_check_account",
                         condition=Q(status="open")),
            models.Index(fields=["account", "-id"], name="break_account"),
        ]  # fmt: skip
        permissions = [("work_break", "Assign, comment on and resolve reconciliation breaks")]

    def __str__(self) -> str:
        return f"Break #{self.pk} ({self.get_break_type_display()})"

    @property
    def is_open(self) -> bool:
        return self.status == BreakStatus.OPEN


class BreakEvent(models.Model):
    """A break's timeline: found, figures changed on a later run, assigned, a comment, resolved,
    closed by a run. Append-only, like the audit trail it mirrors."""

    class Kind(models.TextChoices):
        OPENED = "opened", "Found"
        CHANGED = "changed", "Figures changed"
        ASSIGNED = "assigned", "Assigned"
        COMMENT = "comment", "Comment"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed by a run"

    break_record = models.ForeignKey(Break, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    run = models.ForeignKey(
        ReconciliationRun, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    text = models.TextField(blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["break_record", "id"], name="break_event_break")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on break #{self.break_record_id}"


class TimingDifference(models.Model):
    """An item on one side just before the cut-off whose partner is on the other side just
    after it: recognised, not a break, and matched when the run of the next date sees it."""

    class Status(models.TextChoices):
        CARRIED = "carried", "Carried to the next date"
        MATCHED = "matched", "Matched on the next date"

    check_name = models.CharField(max_length=40)
    key = models.CharField(max_length=400)
    account = models.CharField(max_length=200, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    summary = models.CharField(max_length=300)
    evidence = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.CARRIED)
    run = models.ForeignKey(ReconciliationRun, on_delete=models.PROTECT, related_name="timings")
    matched_run = models.ForeignKey(
        ReconciliationRun, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["check_name", "key", "run"], name="reconciliation_timing_once_per_run"
            )
        ]
        indexes = [models.Index(fields=["check_name", "key"], name="timing_key")]

    def __str__(self) -> str:
        return f"{self.check_name}: {self.key}"
