"""Polling the exchange for KYC decisions, for when webhooks are lost."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone

from backoffice.gateway.errors import GatewayError, NotFound
from participants import exchange
from participants.models import KycSubmission
from participants.selectors import submissions_to_sync
from participants.services import OnboardingError, kyc_outcome_apply
from participants.states import KycTransitionRefused, kyc_submission_transition

logger = logging.getLogger(__name__)
S = KycSubmission.Status

LEASE = dt.timedelta(minutes=5)
# A send that has not finished after this long died with its process.
STALE_SEND = dt.timedelta(minutes=10)


@dataclass
class SyncReport:
    checked: int = 0
    changed: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)


def _take_lease(submission: KycSubmission) -> bool:
    """Claim the row for LEASE; False when another run holds it. A conditional UPDATE, so two
    runs racing for the same row cannot both win."""
    now = timezone.now()
    taken = KycSubmission.objects.filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now), pk=submission.pk
    ).update(lease_until=now + LEASE)
    return taken == 1


def _release_lease(submission: KycSubmission) -> None:
    KycSubmission.objects.filter(pk=submission.pk).update(lease_until=None)


def kyc_sync(*, limit: int | None = None) -> SyncReport:
    """Ask the exchange about every submission whose outcome may have moved on without us."""
    report = SyncReport()
    candidates = submissions_to_sync(stale_after=STALE_SEND)
    for submission in candidates[:limit] if limit else candidates.iterator():
        if not _take_lease(submission):
            report.skipped += 1
            continue
        try:
            report.checked += 1
            before = submission.status
            _sync_one(submission)
            submission.refresh_from_db(fields=["status"])
            report.changed += submission.status != before
        except (GatewayError, OnboardingError, KycTransitionRefused) as exc:
            logger.warning("kyc_sync: submission %s not synced: %s", submission.pk, exc)
            report.failed.append(f"#{submission.pk}: {exc}")
        finally:
            _release_lease(submission)
    return report


def _sync_one(submission: KycSubmission) -> None:
    try:
        outcome = exchange.fetch_kyc_status(
            external_id=submission.participant.external_id, actor=None
        )
    except NotFound:
        if submission.status == S.SUBMITTING:  # the send died before the exchange heard of it
            kyc_submission_transition(
                submission=submission,
                to_status=S.SUBMIT_FAILED,
                actor=None,
                source="poll",
                detail="the send did not finish and the exchange has no record of it",
            )
        return
    kyc_outcome_apply(submission=submission, outcome=outcome, actor=None, source="poll")
