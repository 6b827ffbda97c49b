"""A request never produces two movements: not with twenty people approving at the same moment,
a process killed between the commit and the call or between the call and its answer, two
funding_resume runs at once, or fifty approvals queued behind the exchange's rate limit (sent at
no more than four a second across processes). Counted at the sandbox."""

from __future__ import annotations

import datetime as dt
import re
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from backoffice.context import command_context
from backoffice.gateway.models import GatewayCall
from funding.errors import FundingError
from funding.models import FundingRequest
from funding.resume import funding_resume
from funding.services import funding_request_approve
from tests.factories import UserFactory
from tests.funding.live import as_staff, until

pytestmark = pytest.mark.django_db(transaction=True)


def resume():
    with command_context("funding_resume"):
        return funding_resume()


def as_if_its_deadline_passed(request: FundingRequest) -> None:
    """The dead process's send deadline (minutes under the job policy) has gone by."""
    FundingRequest.objects.filter(pk=request.pk).update(
        send_deadline=timezone.now() - dt.timedelta(seconds=1)
    )


def finished(process, timeout: float = 60) -> str:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err
    return out


@pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="concurrent writers are PostgreSQL's to serve"
)
def test_twenty_people_approving_at_once_send_one_movement(live):
    request = live.request(status="awaiting_approval")
    checkers = [UserFactory.create(username=f"checker{i}", roles=["treasury"]) for i in range(20)]
    start = threading.Barrier(len(checkers))
    outcomes: list[str] = []
    lock = threading.Lock()

    def approve(checker) -> None:
        try:
            start.wait()
            with as_staff():
                funding_request_approve(
                    request=FundingRequest.objects.get(pk=request.pk), actor=checker, version=1
                )
            outcome = "approved"
        except FundingError as exc:
            outcome = exc.message
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=approve, args=(c,)) for c in checkers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("approved") == 1
    refusals = {o for o in outcomes if o != "approved"}
    assert all(
        re.fullmatch(
            r"This request is now “.+”, so it cannot become “Approved, waiting to be sent”\.", o
        )
        for o in refusals
    ), refusals
    request.refresh_from_db()
    assert request.status == "confirmed"
    assert len(live.creates(request)) == 1
    assert len(live.movements(request)) == 1


def test_a_process_killed_between_the_commit_and_the_call(live):
    request = live.request()
    live.fault(family="auth", kind="latency", latencyMs=8000, count=1)  # signing in hangs
    process = live.command("funding_resume")
    until(
        lambda: FundingRequest.objects.get(pk=request.pk).status == "submitting",
        what="the claim",
    )
    until(live.faults_fired, what="the sign-in")  # the process is waiting for its token
    process.kill()
    process.wait()
    assert live.creates(request) == []
    as_if_its_deadline_passed(request)

    report = resume()

    request.refresh_from_db()
    assert (report.interrupted, request.status) == (1, "confirmed")
    assert [h.to_status for h in request.history.all()] == [
        "submitting",
        "outcome_unknown",
        "submitting",
        "confirmed",
    ]
    assert len(live.creates(request)) == 1
    assert len(live.movements(request)) == 1


def test_a_process_killed_after_the_call_before_its_answer(live):
    request = live.request()
    live.fault(family="cash", kind="latency", latencyMs=3000, count=1)  # the exchange is slow
    process = live.command("funding_resume")
    until(lambda: len(live.creates(request)) == 1, what="the call")
    process.kill()
    process.wait()
    live.wait_for_movements(request, 1)  # the exchange finishes what it received
    assert FundingRequest.objects.get(pk=request.pk).status == "submitting"
    as_if_its_deadline_passed(request)

    resume()

    request.refresh_from_db()
    assert request.status == "confirmed"
    assert len(live.creates(request)) == 2  # the replay, under the same key
    (movement,) = live.movements(request)
    assert movement["workflowId"] == request.workflow_id


def test_two_funding_resume_at_once_never_send_one_request_twice(live):
    approved = [live.request() for _ in range(8)]
    unknown = [live.request(status="outcome_unknown") for _ in range(4)]

    runs = [live.command("funding_resume"), live.command("funding_resume")]
    outputs = [finished(run) for run in runs]

    sent = [int(re.findall(r"Sent (\d+)", out)[0]) for out in outputs]
    assert sum(sent) == 12
    for request in approved + unknown:
        request.refresh_from_db()
        assert request.status == "confirmed"
        assert len(live.creates(request)) == 1, request
        assert len(live.movements(request)) == 1


def test_fifty_queued_approvals_go_at_four_a_second_across_processes(sandbox_factory, live):
    """The sandbox's own limit is on too (5 a second): had the two processes together gone
    faster, it would have answered 429."""
    live.server.sandbox.env.limiter.enabled = True
    queued = [live.request(amount=Decimal("10.00")) for _ in range(50)]

    runs = [live.command("funding_resume"), live.command("funding_resume")]
    for run in runs:
        finished(run, timeout=120)

    arrivals = sorted(a.at for a in live.creates())
    assert len(arrivals) == 50
    # Four a second over the whole run: a slower machine only stretches this, never shortens it.
    # How close two deliveries land depends on the machine's load, so the exchange judges bursts
    # itself: going faster than its limit (5 a second, a burst of 5) would have been answered
    # 429, and no call was (every outcome below is "ok").
    assert arrivals[-1] - arrivals[0] >= 49 / 4 - 0.25
    calls = GatewayCall.objects.filter(operation="create_cash_movement")
    assert set(calls.values_list("outcome", flat=True)) == {"ok"}
    assert len(set(calls.values_list("request_id", flat=True))) == 2  # both processes sent
    assert {r.status for r in FundingRequest.objects.filter(pk__in=[q.pk for q in queued])} == {
        "confirmed"
    }
