"""kyc_sync: finishing what the web left unfinished, and polling for decisions webhooks missed.

Each run works, one by one, the submissions whose fate is open: sends that never started (their
process stopped after the intake was saved), sends whose process died in flight (past their
deadline), sends not made because the exchange could not be reached, sends whose outcome is
unknown (settled by reading the exchange's status, sent again only when it has no record), and
evaluations still open at the exchange. Runs may overlap: each claims a row before working it
(a conditional update, so two runs never both win), and leaves alone rows another run worked
after it began, so every row is worked once and each run counts only its own work.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone

from backoffice.gateway.errors import GatewayError, Outcome, misconfiguration
from participants import exchange
from participants.attention import kyc_attention_record
from participants.errors import ExchangeContradicts, OnboardingError
from participants.models import KycStatusChange, KycSubmission
from participants.selectors import submissions_to_sync
from participants.services import (
    SendResult,
    kyc_outcome_apply,
    kyc_send_interrupted,
    kyc_submission_send,
)
from participants.states import OPEN_AT_EXCHANGE

logger = logging.getLogger(__name__)
S = KycSubmission.Status

LEASE = dt.timedelta(minutes=5)
# A submission saved but not yet sent this long ago lost the process that was to send it.
UNSENT_AFTER = dt.timedelta(minutes=1)


@dataclass
class SyncReport:
    checked: int = 0
    changed: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)
    # Set when the exchange refused our credentials: every further call would fail the same way.
    misconfigured: str = ""
    # Submissions this run found contradicting the exchange for the first time (already flagged
    # ones are not news): a person decides on them in the queue's "Needs attention" tab.
    attention: list[str] = field(default_factory=list)


def _claim(submission: KycSubmission, run_started: dt.datetime) -> bool:
    """Take the row for this run; False when another run holds it or worked it after this run
    began."""
    now = timezone.now()
    taken = (
        KycSubmission.objects.filter(pk=submission.pk)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .filter(Q(synced_at__isnull=True) | Q(synced_at__lt=run_started))
        .update(lease_until=now + LEASE)
    )
    return taken == 1


def _release(submission: KycSubmission) -> None:
    KycSubmission.objects.filter(pk=submission.pk).update(
        lease_until=None, synced_at=timezone.now()
    )


def kyc_sync(*, limit: int | None = None) -> SyncReport:
    report = SyncReport()
    run_started = timezone.now()
    candidates = submissions_to_sync(now=run_started, unsent_after=UNSENT_AFTER)
    for submission in candidates[:limit] if limit else candidates.iterator():
        if not _claim(submission, run_started):
            report.skipped += 1
            continue
        try:
            submission.refresh_from_db()  # the state as claimed, not as first listed
            before = submission.status
            report.checked += 1
            result = _sync_one(submission)
            submission.refresh_from_db(fields=["status", "last_error"])
            report.changed += submission.status != before
            if result is not None and result.error is not None:  # a call failed
                report.failed.append(f"#{submission.pk}: {submission.last_error}")
                if result.error.outcome is Outcome.MISCONFIGURED:
                    report.misconfigured = misconfiguration(result.error)
        except GatewayError as exc:  # a status poll of an open evaluation failed
            logger.warning("kyc_sync: submission %s not synced: %s", submission.pk, exc)
            report.failed.append(f"#{submission.pk}: {exc}")
            if exc.outcome is Outcome.MISCONFIGURED:
                report.misconfigured = misconfiguration(exc)
        except ExchangeContradicts as exc:
            if kyc_attention_record(
                submission=submission,
                outcome=exc.outcome,
                reason=exc.message,
                source=KycStatusChange.Source.POLL,
            ):
                report.attention.append(f"#{submission.pk}: {exc.message}")
        except OnboardingError as exc:
            logger.warning("kyc_sync: submission %s not synced: %s", submission.pk, exc.message)
            report.failed.append(f"#{submission.pk}: {exc.message}")
        finally:
            _release(submission)
        if report.misconfigured:
            break  # every further call would fail the same way until settings are fixed
    return report


def _sync_one(submission: KycSubmission) -> SendResult | None:
    """Work one claimed submission; a send's result, if it sent (its failure, if any, is recorded
    on the submission by the service). A failed status poll raises GatewayError."""
    if submission.status == S.SUBMITTING and not kyc_send_interrupted(submission=submission):
        return None  # still in flight within its deadline
    if submission.status in OPEN_AT_EXCHANGE:
        outcome = exchange.fetch_kyc_status(
            external_id=submission.participant.external_id, actor=None
        )
        kyc_outcome_apply(
            submission=submission,
            outcome=outcome,
            actor=None,
            source=KycStatusChange.Source.POLL,
        )
        return None
    return kyc_submission_send(submission=submission, actor=None)
