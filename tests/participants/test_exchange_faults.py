"""Every onboarding service that calls the exchange, against every fault, through the real
gateway with a fake exchange at its HTTP seam: the exact state, history row, audit event and
message staff see; never a 500; a staff request never sleeps; and how often the exchange was asked.

Services: the KYC send (intake), Retry of a send that was not made, Retry of a send whose outcome
is unknown (a status read first), the release of a held duplicate, kyc_sync's status poll, and
the webhook registration (firm_setup).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils.html import escape

from backoffice.audit.models import AuditEvent
from backoffice.gateway import client as gateway_client
from backoffice.gateway import errors
from backoffice.gateway.auth import TokenManager
from backoffice.gateway.client import Gateway
from backoffice.gateway.errors import Outcome
from backoffice.gateway.ratelimit import RateLimiter
from backoffice.gateway.recording import MemoryRecorder
from participants.models import Firm, KycSubmission
from participants.services import kyc_submission_release, kyc_submission_send
from tests.backoffice.gateway.fakes import FakeExchange, Reply, Sleeps, make_settings, new_key
from tests.factories import FirmFactory, KycSubmissionFactory
from tests.participants.conftest import intake_data

S = KycSubmission.Status
KEY = new_key()
START, STATUS, WEBHOOK = "/v1/kyc/start", "/v1/kyc/status", "/v1/kyc/webhook"
EVALUATION = {"status": {"decision": "ACCEPT", "status": "ON_HOLD", "externalId": "user-123"}}


@dataclass(frozen=True)
class Fault:
    reply: Reply | None  # the API's answer; None when the token endpoint refuses instead
    code: str
    write: Outcome  # the outcome of a call that changes state (a send, a registration)
    read: Outcome  # the outcome of a read (a status read)
    misconfiguration: str = ""  # the words naming the setting at fault


FAULTS = {
    "timeout before sending": Fault(
        Reply(error=errors.Timeout("ConnectTimeout", reached=False)),
        "timeout", Outcome.NOT_SENT, Outcome.NOT_SENT,
    ),
    "timeout after sending": Fault(
        Reply(error=errors.Timeout("ReadTimeout", reached=True)),
        "timeout", Outcome.UNKNOWN, Outcome.NOT_SENT,
    ),
    "connection reset": Fault(
        Reply(error=errors.ConnectionFailed("ConnectionResetError", reached=True)),
        "connection_failed", Outcome.UNKNOWN, Outcome.NOT_SENT,
    ),
    "5xx": Fault(Reply(503, {"code": 14}), "unavailable", Outcome.UNKNOWN, Outcome.NOT_SENT),
    "429 with Retry-After": Fault(
        Reply(429, {"code": 8, "message": "rate limit exceeded"}, headers={"Retry-After": "1"}),
        "resource_exhausted", Outcome.NOT_SENT, Outcome.NOT_SENT,
    ),
    "401 after a fresh token": Fault(
        Reply(401, {"code": 16, "message": "token revoked"}),
        "unauthenticated", Outcome.MISCONFIGURED, Outcome.MISCONFIGURED,
        "unauthenticated: token revoked",
    ),
    "token endpoint refusing": Fault(
        None, "token_exchange_failed", Outcome.MISCONFIGURED, Outcome.MISCONFIGURED,
        "sign-in refused, invalid_client: Invalid signature",
    ),
    "malformed body": Fault(
        Reply(200, b'{"status": {"decision": '),
        "malformed_response", Outcome.UNKNOWN, Outcome.NOT_SENT,
    ),
}  # fmt: skip

STATUS_AFTER = {
    Outcome.NOT_SENT: S.SUBMIT_FAILED,
    Outcome.MISCONFIGURED: S.SUBMIT_FAILED,
    Outcome.UNKNOWN: S.OUTCOME_UNKNOWN,
}


def requests_made(fault: Fault) -> int:
    """How many requests one call makes under the fault: none when sign-in is refused; two after
    a 401 (the token is renewed once and the request sent once more); otherwise one."""
    if fault.reply is None:
        return 0
    return 2 if fault.code == "unauthenticated" else 1


def send_message(fault: Fault) -> str:
    """Exactly what staff read about a send that did not settle."""
    if fault.write is Outcome.NOT_SENT:
        return (
            f"Not sent: the exchange could not take it now ({fault.code}), so nothing was done "
            "there. It is sent again automatically within a few minutes; Retry sends it now."
        )
    if fault.write is Outcome.UNKNOWN:
        return (
            f"Sent; the exchange's answer is not known yet ({fault.code}) and is being checked. "
            "It will be sent again only if the exchange has no record of it."
        )
    return (
        f"Not sent: the connection to the exchange is misconfigured ({fault.misconfiguration}). "
        "An administrator must fix the settings; it is sent once they are fixed."
    )


def unsettled_message(fault: Fault) -> str:
    """Exactly what staff read when asking about an unknown outcome failed."""
    if fault.read is Outcome.MISCONFIGURED:
        return (
            "Sent; the exchange's answer is not known, and it cannot be asked: the connection is "
            f"misconfigured ({fault.misconfiguration}). An administrator must fix the settings."
        )
    return (
        f"Sent; the exchange's answer is still not known: asking it failed ({fault.code}). "
        "It will be asked again."
    )


@dataclass
class Exchange:
    fake: FakeExchange
    sleeps: Sleeps

    def fail(self, method: str, path: str, fault: Fault) -> None:
        if fault.reply is None:
            self.fake.token_script = [
                Reply(401, {"error": "invalid_client", "error_description": "Invalid signature"})
            ] * 10
            self.fake.on(method, path, Reply(body=EVALUATION))  # never reached
        else:
            self.fake.on(method, path, fault.reply)

    def calls(self, path: str) -> int:
        return sum(1 for r in self.fake.api_requests() if r.url.endswith(path))


@pytest.fixture
def exchange(monkeypatch, settings) -> Exchange:
    """The process's gateway, real, with a fake exchange at its HTTP seam and sleeps recorded."""
    settings.POLYMARKET_CLIENT_ID = "client-acme"  # firm_setup records it; set before the gateway
    fake = FakeExchange([KEY])
    sleeps = Sleeps()
    config = make_settings([KEY])
    gateway = Gateway(
        settings=config,
        transport=fake,
        tokens=TokenManager(config, fake, sleep=sleeps),
        limiter=RateLimiter(enabled=False),
        recorder=MemoryRecorder(),
        sleep=sleeps,
    )
    monkeypatch.setattr(gateway_client, "_default", gateway)
    return Exchange(fake, sleeps)


@pytest.fixture
def firm(db):
    return FirmFactory.create()


def last_history(submission: KycSubmission) -> tuple[str, str, str]:
    row = submission.history.order_by("-occurred_at", "-id").first()
    assert row is not None
    return row.from_status, row.to_status, row.detail


def audit_tail(n: int) -> list[tuple[str, dict]]:
    return [(e.action, e.payload) for e in reversed(AuditEvent.objects.order_by("-id")[:n])]


def assert_send_recorded(submission: KycSubmission, fault: Fault) -> None:
    message = send_message(fault)
    assert submission.status == STATUS_AFTER[fault.write]
    assert submission.last_error == message
    assert last_history(submission) == (S.SUBMITTING, STATUS_AFTER[fault.write], message)
    status_changed, send_failed = audit_tail(2)
    assert status_changed == (
        "participants.kyc.status_changed",
        {"from": S.SUBMITTING, "to": STATUS_AFTER[fault.write], "source": "exchange"},
    )
    assert send_failed == (
        "participants.kyc.send_failed",
        {"outcome": str(fault.write), "error": fault.code},
    )


# --- the send, from intake ------------------------------------------------------------------


@pytest.mark.parametrize("name", FAULTS)
def test_intake_send(persona, firm, exchange, name):
    fault = FAULTS[name]
    exchange.fail("POST", START, fault)
    support = persona("support")

    response = support.post("/onboarding/new/", intake_data(), follow=True)

    assert response.status_code == 200
    submission = KycSubmission.objects.get()
    assert_send_recorded(submission, fault)
    assert [h.to_status for h in submission.history.all()] == [
        S.PENDING, S.SUBMITTING, STATUS_AFTER[fault.write],
    ]  # fmt: skip
    assert escape(send_message(fault)) in response.content.decode()
    assert exchange.calls(START) == requests_made(fault)
    assert exchange.sleeps == []


# --- Retry of a send that was not made ----------------------------------------------------------


@pytest.mark.parametrize("name", FAULTS)
def test_retry_of_a_send_not_made(persona, firm, exchange, name):
    fault = FAULTS[name]
    submission = KycSubmissionFactory.create(
        participant__firm=firm, participant__external_id="user-123", status=S.SUBMIT_FAILED
    )
    exchange.fail("POST", START, fault)

    response = persona("support").post(
        f"/onboarding/submissions/{submission.pk}/retry/", follow=True
    )

    assert response.status_code == 200
    submission.refresh_from_db()
    assert_send_recorded(submission, fault)
    assert [h.from_status for h in submission.history.all()] == [S.SUBMIT_FAILED, S.SUBMITTING]
    assert escape(send_message(fault)) in response.content.decode()
    assert exchange.calls(STATUS) == 0  # nothing had reached the exchange: no need to ask
    assert exchange.calls(START) == requests_made(fault)
    assert exchange.sleeps == []


# --- Retry of a send whose outcome is unknown: the status read comes first ------------------


@pytest.mark.parametrize("name", FAULTS)
def test_retry_of_an_unknown_outcome_reads_first_and_never_sends_blind(
    persona, firm, exchange, name
):
    fault = FAULTS[name]
    submission = KycSubmissionFactory.create(
        participant__firm=firm,
        participant__external_id="user-123",
        status=S.OUTCOME_UNKNOWN,
        last_error="Sent; the exchange's answer is not known yet (timeout) and is being checked.",
    )
    exchange.fail("GET", STATUS, fault)
    support = persona("support")
    events = AuditEvent.objects.count()

    response = support.post(f"/onboarding/submissions/{submission.pk}/retry/", follow=True)

    assert response.status_code == 200
    submission.refresh_from_db()
    assert submission.status == S.OUTCOME_UNKNOWN
    assert submission.last_error == unsettled_message(fault)
    assert submission.history.count() == 0  # no state moved
    assert AuditEvent.objects.count() == events
    assert escape(unsettled_message(fault)) in response.content.decode()
    assert exchange.calls(START) == 0
    assert exchange.calls(STATUS) == requests_made(fault)
    assert exchange.sleeps == []


def test_retry_of_an_unknown_outcome_sends_again_only_when_the_exchange_has_no_record(
    persona, firm, exchange
):
    submission = KycSubmissionFactory.create(
        participant__firm=firm, participant__external_id="user-123", status=S.OUTCOME_UNKNOWN
    )
    exchange.fake.on("GET", STATUS, Reply(404, {"code": 5, "message": "no evaluation"}))
    exchange.fake.on("POST", START, Reply(body=EVALUATION))

    persona("support").post(f"/onboarding/submissions/{submission.pk}/retry/")

    submission.refresh_from_db()
    assert submission.status == S.AWAITING_PROVISIONING
    assert submission.last_error == ""
    assert (exchange.calls(STATUS), exchange.calls(START)) == (1, 1)


def test_retry_of_an_unknown_outcome_the_exchange_holds_records_it_without_sending(
    persona, firm, exchange
):
    submission = KycSubmissionFactory.create(
        participant__firm=firm, participant__external_id="user-123", status=S.OUTCOME_UNKNOWN
    )
    exchange.fake.on("GET", STATUS, Reply(body=EVALUATION))

    persona("support").post(f"/onboarding/submissions/{submission.pk}/retry/")

    submission.refresh_from_db()
    assert submission.status == S.AWAITING_PROVISIONING
    assert last_history(submission) == (S.OUTCOME_UNKNOWN, S.AWAITING_PROVISIONING, "")
    assert exchange.calls(START) == 0


# --- releasing a held duplicate -------------------------------------------------------------------


@pytest.mark.parametrize("name", FAULTS)
def test_release_of_a_held_duplicate(persona, firm, exchange, name):
    fault = FAULTS[name]
    submission = KycSubmissionFactory.create(
        participant__firm=firm, participant__external_id="user-123", status=S.HELD_DUPLICATE
    )
    exchange.fail("POST", START, fault)

    response = persona("compliance").post(
        f"/onboarding/submissions/{submission.pk}/duplicate/",
        {"decision": "release", "reason": "Checked: a different person", "confirm_different": "on"},
        follow=True,
    )

    assert response.status_code == 200
    submission.refresh_from_db()
    assert_send_recorded(submission, fault)
    assert [h.to_status for h in submission.history.all()] == [
        S.PENDING, S.SUBMITTING, STATUS_AFTER[fault.write],
    ]  # fmt: skip
    assert escape(send_message(fault)) in response.content.decode()
    assert exchange.calls(START) == requests_made(fault)
    assert exchange.sleeps == []


# --- kyc_sync's status poll of an evaluation open at the exchange ----------------------------


@pytest.mark.parametrize("name", FAULTS)
def test_status_poll(firm, exchange, name):
    fault = FAULTS[name]
    submission = KycSubmissionFactory.create(
        participant__firm=firm, participant__external_id="user-123", status=S.MANUAL_REVIEW
    )
    exchange.fail("GET", STATUS, fault)
    events = AuditEvent.objects.count()
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError) as caught:
        call_command("kyc_sync", stdout=out, stderr=err)

    submission.refresh_from_db()
    assert submission.status == S.MANUAL_REVIEW
    assert submission.history.count() == 0
    assert AuditEvent.objects.count() == events
    assert "Checked 1, changed 0, skipped 0" in out.getvalue()
    assert f"#{submission.pk}: {fault.code}" in err.getvalue()
    if fault.read is Outcome.MISCONFIGURED:
        assert str(caught.value).startswith(
            f"Stopped: the exchange connection is misconfigured ({fault.misconfiguration})."
        )
    else:
        assert str(caught.value) == "1 submissions could not be synced; see above."
    # A command is patient: a read is retried (5 attempts) unless settings are wrong.
    retried = fault.read is Outcome.NOT_SENT
    expected_reads = (
        0
        if fault.reply is None
        else (5 if retried else 2 if fault.code == "unauthenticated" else 1)
    )
    assert exchange.calls(STATUS) == expected_reads


# --- the webhook registration ------------------------------------------------------------------


@pytest.mark.parametrize("name", FAULTS)
def test_webhook_registration(exchange, db, name):
    fault = FAULTS[name]
    firm = FirmFactory.create(webhook_url="https://bo.example/webhooks/polymarket/kyc/")
    old_secret, old_previous = firm.webhook_secret, firm.webhook_secret_previous
    exchange.fake.on("GET", "/v1/whoami", Reply(body={"firm": "ISV-Participant-Acme"}))
    if fault.reply is None:  # the token endpoint refuses: whoami fails before anything changes
        exchange.fail("POST", WEBHOOK, fault)
        with pytest.raises(CommandError, match=r"^Nothing was set up: asking the exchange"):
            call_command("firm_setup", webhook_url="https://bo.example/new/", stdout=io.StringIO())
        firm.refresh_from_db()
        assert (firm.webhook_secret, firm.webhook_url) == (
            old_secret,
            "https://bo.example/webhooks/polymarket/kyc/",
        )
        return
    exchange.fake.on("POST", WEBHOOK, fault.reply)

    with pytest.raises(CommandError) as caught:
        call_command("firm_setup", webhook_url="https://bo.example/new/", stdout=io.StringIO())

    firm.refresh_from_db()
    assert firm.webhook_url == "https://bo.example/webhooks/polymarket/kyc/"
    if fault.write is Outcome.UNKNOWN:
        # The exchange may sign with the new secret or the old one: both are accepted.
        assert firm.webhook_secret != old_secret
        assert firm.webhook_secret_previous == old_secret
        assert str(caught.value) == (
            f"The webhook registration was sent but its answer is not known ({fault.code}). "
            "Both the new and the previous signing secret are accepted meanwhile; run "
            "firm_setup again to settle it."
        )
    else:
        assert (firm.webhook_secret, firm.webhook_secret_previous) == (old_secret, old_previous)
        if fault.write is Outcome.MISCONFIGURED:
            assert str(caught.value) == (
                "The webhook was not registered: the connection to the exchange is "
                f"misconfigured ({fault.misconfiguration})."
            )
        else:
            assert str(caught.value) == (
                f"The webhook was not registered: the exchange could not take it now "
                f"({fault.code}). Nothing changed there; run firm_setup again."
            )
    assert audit_tail(1) == [
        (
            "participants.firm.webhook_registration_failed",
            {"outcome": str(fault.write), "error": fault.code},
        )
    ]
    assert exchange.calls(WEBHOOK) == requests_made(fault)


# --- a call made inside an open transaction is a bug, not an outage ---------------------------


def _send_inside_a_transaction(submission, staff):
    with transaction.atomic():
        kyc_submission_send(submission=submission, actor=staff)


def _release_inside_a_transaction(submission, staff):
    with transaction.atomic():
        kyc_submission_release(
            submission=submission, actor=staff, reason="Checked: a different person"
        )


def _sync_inside_a_transaction(submission, staff):
    with transaction.atomic():
        call_command("kyc_sync", stdout=io.StringIO(), stderr=io.StringIO())


@pytest.mark.parametrize(
    ("status", "call"),
    [
        (S.PENDING, _send_inside_a_transaction),
        (S.SUBMIT_FAILED, _send_inside_a_transaction),
        (S.OUTCOME_UNKNOWN, _send_inside_a_transaction),
        (S.HELD_DUPLICATE, _release_inside_a_transaction),
        (S.MANUAL_REVIEW, _sync_inside_a_transaction),
    ],
)
def test_a_call_inside_a_transaction_is_refused_before_anything_is_sent(
    firm, exchange, make_user, status, call
):
    submission = KycSubmissionFactory.create(
        participant__firm=firm, participant__external_id="user-123", status=status
    )
    exchange.fake.on("GET", STATUS, Reply(body=EVALUATION))
    exchange.fake.on("POST", START, Reply(body=EVALUATION))

    with pytest.raises(RuntimeError) as caught:
        call(submission, make_user("casey", "compliance"))

    assert not isinstance(caught.value, errors.GatewayError)
    assert exchange.fake.requests == []
    submission.refresh_from_db()
    assert submission.status == status


def test_a_registration_inside_a_transaction_is_refused_before_anything_is_sent(exchange, db):
    exchange.fake.on("GET", "/v1/whoami", Reply(body={"firm": "ISV-Participant-Acme"}))

    with transaction.atomic(), pytest.raises(errors.GatewayCalledInTransaction):
        call_command("firm_setup", webhook_url="https://bo.example/new/", stdout=io.StringIO())

    assert exchange.fake.requests == []
    assert not Firm.objects.exists()
