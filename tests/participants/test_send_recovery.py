"""What kyc_sync finishes: sends whose process died, sends never started, sends not made, unknown
outcomes; what it leaves to people; and how two runs at once share the work."""

from __future__ import annotations

import datetime as dt
import io
import threading
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from backoffice.gateway import errors
from participants.models import KycSubmission
from participants.outcomes import KycOutcome
from participants.services import kyc_outcome_apply
from participants.sync import kyc_sync
from tests.factories import FirmFactory, KycSubmissionFactory
from tests.participants.conftest import status

S = KycSubmission.Status
NOT_FOUND = errors.NotFound("no evaluation for external_id", http_status=404)
LONG_AGO = dt.timedelta(minutes=5)


@pytest.fixture
def firm(db):
    return FirmFactory.create()


def submission(firm, status_: str, external_id: str = "user-123", **fields) -> KycSubmission:
    return KycSubmissionFactory.create(
        participant__firm=firm, participant__external_id=external_id, status=status_, **fields
    )


def run_sync() -> str:
    out = io.StringIO()
    call_command("kyc_sync", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_a_send_whose_process_died_is_settled_by_asking_then_sent(firm, exchange):
    now = timezone.now()
    dead = submission(
        firm, S.SUBMITTING, sent_at=now - LONG_AGO, send_deadline=now - dt.timedelta(seconds=1)
    )
    exchange.status_answers.append(NOT_FOUND)
    exchange.start_answers.append(status("ACCEPT", "ON_HOLD"))

    assert run_sync().startswith("Checked 1, changed 1, skipped 0")

    dead.refresh_from_db()
    assert dead.status == S.AWAITING_PROVISIONING
    assert [(h.from_status, h.to_status, h.detail) for h in dead.history.all()] == [
        (
            S.SUBMITTING,
            S.OUTCOME_UNKNOWN,
            "The send did not finish (its process stopped); the exchange is being asked.",
        ),
        (S.OUTCOME_UNKNOWN, S.SUBMITTING, ""),
        (S.SUBMITTING, S.AWAITING_PROVISIONING, ""),
    ]
    assert exchange.asked == ["user-123"]
    assert len(exchange.started) == 1


def test_a_send_whose_process_died_after_the_exchange_took_it_is_not_sent_again(firm, exchange):
    now = timezone.now()
    dead = submission(
        firm, S.SUBMITTING, sent_at=now - LONG_AGO, send_deadline=now - dt.timedelta(seconds=1)
    )
    exchange.status_answers.append(status("REVIEW", "OPEN"))

    run_sync()

    dead.refresh_from_db()
    assert dead.status == S.MANUAL_REVIEW
    assert exchange.started == []


def test_a_send_still_within_its_deadline_is_left_to_finish(firm, exchange):
    now = timezone.now()
    busy = submission(firm, S.SUBMITTING, sent_at=now, send_deadline=now + dt.timedelta(minutes=1))

    assert run_sync().startswith("Checked 0, changed 0, skipped 0")

    busy.refresh_from_db()
    assert busy.status == S.SUBMITTING
    assert (exchange.asked, exchange.started) == ([], [])


def test_a_submission_saved_but_never_sent_is_sent(firm, exchange):
    stale = submission(firm, S.PENDING, status_changed_at=timezone.now() - LONG_AGO)
    fresh = submission(firm, S.PENDING, external_id="user-456")
    exchange.start_answers.append(status("ACCEPT", "ON_HOLD"))

    run_sync()

    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert (stale.status, fresh.status) == (S.AWAITING_PROVISIONING, S.PENDING)
    assert [a.external_id for a in exchange.started] == ["user-123"]


def test_a_send_not_made_is_sent_again_and_a_refused_one_waits_for_a_person(firm, exchange):
    not_sent = submission(firm, S.SUBMIT_FAILED, last_error="Not sent: ...")
    refused = submission(firm, S.SEND_REFUSED, external_id="user-456", last_error="Refused ...")
    exchange.start_answers.append(status("ACCEPT", "ON_HOLD"))

    run_sync()

    not_sent.refresh_from_db()
    refused.refresh_from_db()
    assert (not_sent.status, not_sent.last_error) == (S.AWAITING_PROVISIONING, "")
    assert refused.status == S.SEND_REFUSED
    assert [a.external_id for a in exchange.started] == ["user-123"]


def test_a_misconfigured_connection_stops_the_run_at_the_first_refusal(firm, exchange):
    first = submission(firm, S.SUBMIT_FAILED)
    second = submission(firm, S.SUBMIT_FAILED, external_id="user-456")
    exchange.start_answers.append(
        errors.TokenExchangeFailed(
            "Invalid signature", error="invalid_client", description="Invalid signature"
        )
    )

    with pytest.raises(CommandError) as caught:
        run_sync()

    assert str(caught.value).startswith(
        "Stopped: the exchange connection is misconfigured (sign-in refused, invalid_client: "
        "Invalid signature)."
    )
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.last_error.startswith("Not sent: the connection to the exchange is misconfigured")
    assert second.status == S.SUBMIT_FAILED
    assert len(exchange.started) == 1


def test_an_unknown_outcome_is_asked_about_and_not_resent_while_it_may_be_arriving(firm, exchange):
    recent = submission(firm, S.OUTCOME_UNKNOWN, sent_at=timezone.now())
    exchange.status_answers.append(NOT_FOUND)

    out = run_sync()

    recent.refresh_from_db()
    assert recent.status == S.OUTCOME_UNKNOWN
    assert recent.last_error.startswith("Sent; the exchange has no record of it yet")
    assert exchange.started == []
    assert out.startswith("Checked 1, changed 0, skipped 0")


def test_a_decision_clears_what_went_wrong_sending(firm, exchange):
    unknown = submission(
        firm, S.OUTCOME_UNKNOWN, last_error="Sent; the exchange's answer is not known yet."
    )

    kyc_outcome_apply(
        submission=unknown,
        outcome=KycOutcome(event_type="kyc.rejected", rejection_reason="identity"),
        actor=None,
        source="webhook",
    )

    unknown.refresh_from_db()
    assert (unknown.status, unknown.last_error) == (S.REJECTED, "")


def test_a_run_leaves_alone_what_another_run_worked_after_it_began(firm, exchange):
    worked = submission(firm, S.MANUAL_REVIEW, synced_at=timezone.now() + dt.timedelta(seconds=5))
    waiting = submission(firm, S.MANUAL_REVIEW, external_id="user-456")
    exchange.status_answers.append(status("REVIEW", "OPEN", external_id="user-456"))

    assert run_sync().startswith("Checked 1, changed 0, skipped 1")

    assert exchange.asked == ["user-456"]
    worked.refresh_from_db()
    waiting.refresh_from_db()
    assert waiting.synced_at is not None


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite serialises writers; production is PostgreSQL"
)
def test_two_runs_at_once_work_every_row_once_and_count_only_their_own(monkeypatch):
    firm = FirmFactory.create()
    rows = [submission(firm, S.MANUAL_REVIEW, external_id=f"user-{n:03d}") for n in range(20)]
    asked: list[str] = []
    lock = threading.Lock()

    class SlowExchange:
        settings = None

        def kyc_status(self, *, external_id, actor):
            time.sleep(0.01)  # long enough for the other run to reach the same rows
            with lock:
                asked.append(external_id)
            return status("ACCEPT", "CLOSED", external_id=external_id,
                          participant_id=f"firms/P/users/{external_id}",
                          account=f"firms/I/accounts/{external_id}")  # fmt: skip

    monkeypatch.setattr("participants.exchange.get_gateway", SlowExchange)
    reports = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        try:
            reports.append(kyc_sync())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(asked) == sorted(r.participant.external_id for r in rows)  # each once
    assert sum(r.checked for r in reports) == 20
    assert sum(r.changed for r in reports) == 20
    assert all(r.failed == [] for r in reports)
    assert KycSubmission.objects.filter(status=S.APPROVED).count() == 20


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite serialises writers; production is PostgreSQL"
)
def test_two_officers_releasing_one_held_duplicate_at_once(monkeypatch, make_user):
    from django.contrib.messages import get_messages
    from django.test import Client

    firm = FirmFactory.create()
    held = submission(firm, S.HELD_DUPLICATE)
    started: list[str] = []
    barrier = threading.Barrier(2)

    class Exchange:
        settings = None

        def kyc_start(self, *, application, actor):
            started.append(application.external_id)
            return status("ACCEPT", "ON_HOLD")

    monkeypatch.setattr("participants.exchange.get_gateway", Exchange)
    monkeypatch.setattr("participants.services.longest_write_seconds", lambda: 60.0)
    clients = []
    for name in ("casey", "robin"):
        officer = Client()
        officer.force_login(make_user(name, "compliance"))
        clients.append(officer)
    answers: dict[int, tuple[int, list[str]]] = {}

    def release(n: int) -> None:
        barrier.wait()
        try:
            response = clients[n].post(
                f"/onboarding/submissions/{held.pk}/duplicate/",
                {
                    "decision": "release",
                    "reason": "Checked: a different person",
                    "confirm_different": "on",
                },
            )
            answers[n] = (
                response.status_code,
                [str(m) for m in get_messages(response.wsgi_request)],
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=release, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(code for code, _ in answers.values()) == [302, 302]
    said = sorted(messages[0] for _, messages in answers.values())
    assert said[0].startswith("Submitted to the exchange")
    assert said[1] in {
        # Refused by the page (it already saw the release) or by the service (it raced it).
        "This submission is not held as a possible duplicate.",
        *(
            f"This submission is no longer held: it is “{S(state).label}”, because someone "
            "else acted on it first."
            for state in (S.PENDING, S.SUBMITTING, S.AWAITING_PROVISIONING)
        ),
    }
    assert started == ["user-123"]
    held.refresh_from_db()
    assert held.status == S.AWAITING_PROVISIONING
