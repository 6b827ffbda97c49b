"""funding_resume: finishing every request whose outcome is not final.

A run sends what is approved and not yet sent (the approver's page failed fast, or the exchange
was busy), replays under the same key what was sent with an outcome not settled (outcome unknown,
the exchange's AMBIGUOUS, or a send whose process died past its deadline), and reads the movements
the exchange holds as pending. Runs may overlap: every send goes through the conditional move to
SUBMITTING, every read through a lease, and a run leaves alone what another run moved after it
began, so no request is worked twice. The rate limiter spaces the calls of all runs and web
workers together; deposits go first when both wait.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.utils import timezone

from backoffice.gateway.errors import GatewayError, Outcome
from funding import exchange, selectors
from funding.errors import FundingError
from funding.models import FundingRequest
from funding.services import funding_request_check, funding_request_submit, funding_send_interrupted
from funding.states import TERMINAL


@dataclass
class ResumeReport:
    interrupted: int = 0  # sends found dead past their deadline
    sent: int = 0  # create calls made: first sends and replays
    checked: int = 0  # pending movements read
    settled: int = 0  # requests that reached a final state in this run
    skipped: int = 0  # worked by another run
    failed: list[str] = field(default_factory=list)
    # Set when the exchange refused our credentials: every further call would fail the same way.
    misconfigured: str = ""

    def note(self, request: FundingRequest, error: GatewayError | None) -> None:
        if request.status in TERMINAL:
            self.settled += 1
        if error is not None:
            self.failed.append(f"#{request.pk}: {request.last_error or error}")
            if error.outcome is Outcome.MISCONFIGURED:
                self.misconfigured = exchange.describe_failure(error)


def funding_resume(*, limit: int | None = None) -> ResumeReport:
    report = ResumeReport()
    for request in selectors.sends_interrupted(now=timezone.now()):
        report.interrupted += funding_send_interrupted(request=request)
    # From here on, what another run moves is its own: this run leaves it alone.
    run_started = timezone.now()
    for request in _capped(selectors.to_send(), limit):
        attempts = request.send_attempts
        try:
            result = funding_request_submit(
                request=request, actor=None, unchanged_since=run_started
            )
        except FundingError:
            report.skipped += 1
            continue
        report.sent += result.request.send_attempts > attempts
        report.note(result.request, result.error)
        if report.misconfigured:
            return report
    for request in _capped(selectors.pending_at_exchange(), limit):
        try:
            taken = funding_request_check(request=request)
        except GatewayError as exc:
            request.refresh_from_db()
            report.note(request, exc)
            if report.misconfigured:
                return report
            continue
        if not taken:
            report.skipped += 1
            continue
        report.checked += 1
        request.refresh_from_db()
        report.note(request, None)
    return report


def _capped(requests: QuerySet[FundingRequest], limit: int | None) -> Iterable[FundingRequest]:
    return requests[:limit] if limit else requests.iterator()
