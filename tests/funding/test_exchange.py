"""Funding against the sandbox exchange: each of the exchange's outcomes, and each fault of each
call funding makes, ending in the exact state and words, with the exchange's own count of what
it received and what it created. Staff calls run as a web request does (one attempt, a short
read timeout); funding_resume settles what they leave."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backoffice.context import command_context
from backoffice.gateway import errors
from backoffice.gateway.client import reset_gateway
from backoffice.gateway.transport import RequestsTransport
from funding.errors import FundingError
from funding.models import FundingRequest
from funding.resume import funding_resume
from funding.services import funding_request_approve, pool_topup_record
from tests.factories import UserFactory
from tests.funding.live import as_staff


def approve(request: FundingRequest) -> FundingRequest:
    checker = UserFactory.create(roles=["treasury"])
    with as_staff():
        return funding_request_approve(request=request, actor=checker, version=request.version)


def resume():
    with command_context("funding_resume"):
        return funding_resume()


# --- the exchange's own outcomes -------------------------------------------------------------


def test_a_deposit_is_confirmed_and_moves_the_money_once(live):
    request = approve(live.request(status="awaiting_approval", amount=Decimal("250.00")))

    assert request.status == "confirmed"
    (held,) = live.movements(request)
    assert (held["status"], held["amount"], held["workflowId"]) == (
        "CASH_MOVEMENT_STATUS_CONFIRMED",
        "250.00",
        request.workflow_id,
    )
    assert held["dcoTransferId"] == request.dco_transfer_id
    assert len(live.creates(request)) == 1


def test_pending_is_read_until_the_exchange_confirms_it(live):
    live.fault(family="cash", kind="cash_pending", count=1, settleAfter=0)
    request = approve(live.request(status="awaiting_approval"))
    assert (request.status, request.exchange_status) == (
        "pending",
        "CASH_MOVEMENT_STATUS_PENDING",
    )

    report = resume()

    request.refresh_from_db()
    assert request.status == "confirmed"
    assert (report.checked, report.settled) == (1, 1)
    assert len(live.movements(request)) == 1
    assert len(live.creates(request)) == 1
    assert [a.key for a in live.reads()] == [request.workflow_id]


def test_ambiguous_is_replayed_under_the_same_key_until_it_is_final(live):
    live.fault(family="cash", kind="cash_ambiguous", count=1, settleAfter=0)
    request = approve(live.request(status="awaiting_approval"))
    assert request.status == "ambiguous"
    live.partner.tick()

    resume()

    request.refresh_from_db()
    assert request.status == "confirmed"
    assert len(live.movements(request)) == 1
    assert len(live.creates(request)) == 2


def test_a_rejection_shows_the_exchanges_reason(live, settings):
    settings.FUNDING_SUPERVISOR_THRESHOLD = Decimal("10000000.00")
    request = approve(live.request(status="awaiting_approval", amount=Decimal("2000000.00")))

    assert (request.status, request.rejection_reason) == ("rejected", "INSUFFICIENT_FUNDS")
    assert list(request.history.all())[-1].detail == (
        "Rejected by the exchange: INSUFFICIENT_FUNDS. No money moved."
    )
    (held,) = live.movements(request)
    assert held["status"] == "CASH_MOVEMENT_STATUS_REJECTED"


def test_a_pending_movement_the_exchange_later_rejects(live):
    live.fault(family="cash", kind="cash_pending", count=1, settleAfter=0, settleOutcome="REJECTED")
    request = approve(live.request(status="awaiting_approval"))

    resume()

    request.refresh_from_db()
    assert (request.status, request.rejection_reason) == ("rejected", "REJECTED_BY_FUNDING_ENTITY")


def test_a_withdrawal_checked_against_the_exchanges_free_cash(live):
    live.fund_participant("80.00")
    too_much = live.request(
        status="awaiting_approval", direction="withdrawal", amount=Decimal("80.01")
    )

    with pytest.raises(FundingError) as refused:
        approve(too_much)

    assert refused.value.message == (
        "Not approved: the withdrawal of $80.01 is more than the participant's free cash $80.00 "
        "(balance $80.00, open orders $0.00, buying power $80.00)."
    )
    assert live.creates() == []
    within = approve(
        live.request(status="awaiting_approval", direction="withdrawal", amount=Decimal("80.00"))
    )
    assert within.status == "confirmed"
    assert [m["status"] for m in live.movements()] == ["CASH_MOVEMENT_STATUS_CONFIRMED"]


# --- every fault of the create call -----------------------------------------------------------


class ConnectTimeoutOnce(RequestsTransport):
    """No connection within the connect timeout, the first time a call goes to `path`: the one
    fault a live server cannot stage."""

    path = ""
    tripped = False

    def send(self, request):
        if request.url.endswith(ConnectTimeoutOnce.path) and not ConnectTimeoutOnce.tripped:
            ConnectTimeoutOnce.tripped = True
            raise errors.Timeout("ConnectTimeout", reached=False)
        return super().send(request)


def connect_timeout_once(monkeypatch, path: str) -> None:
    ConnectTimeoutOnce.path, ConnectTimeoutOnce.tripped = path, False
    monkeypatch.setattr("backoffice.gateway.client.RequestsTransport", ConnectTimeoutOnce)
    reset_gateway()  # the next call builds the client, on this transport


NOT_SENT = "It stays approved and is sent by the next run of funding_resume."
UNKNOWN = "Sent; the exchange's answer is not known yet and is being checked"

# fault -> (state after the staff send, its words, movements the exchange then holds)
CREATE_FAULTS = {
    "timeout before sending": (
        "approved",
        f"Not sent: the exchange could not be reached or was busy (timeout). {NOT_SENT}",
        0,
    ),
    "timeout after sending": (
        "outcome_unknown",
        f"{UNKNOWN} (the exchange gave no usable answer (timeout)).",
        1,
    ),
    "connection reset": (
        "outcome_unknown",
        f"{UNKNOWN} (the exchange gave no usable answer (connection_failed)).",
        0,
    ),
    "5xx": (
        "outcome_unknown",
        f"{UNKNOWN} (the exchange gave no usable answer (unavailable)).",
        0,
    ),
    "429": (
        "approved",
        f"Not sent: the exchange could not be reached or was busy (resource_exhausted). {NOT_SENT}",
        0,
    ),
    "token refused": (
        "approved",
        (
            "Not sent: the connection to the exchange is misconfigured (sign-in refused, "
            "access_denied: client is disabled); a person must fix the settings. It stays approved "
            "and is sent once that is fixed."
        ),
        0,
    ),
    "malformed body": (
        "outcome_unknown",
        f"{UNKNOWN} (the exchange gave no usable answer (malformed_response)).",
        1,
    ),
}


def stage(live, case: str, monkeypatch) -> None:
    if case == "timeout before sending":
        connect_timeout_once(monkeypatch, "/CreateCashMovement")
    elif case == "timeout after sending":
        live.fault(family="cash", kind="latency", latencyMs=1500, count=1)
    elif case == "connection reset":
        live.fault(family="cash", kind="drop", count=1)
    elif case == "5xx":
        live.fault(family="cash", kind="error", status=503, count=1)
    elif case == "429":
        live.fault(family="cash", kind="rate_limit", count=1, retryAfter=1)
    elif case == "token refused":
        live.disable_firm()
    elif case == "malformed body":
        live.fault(family="cash", kind="malformed", count=1)


@pytest.mark.parametrize("case", CREATE_FAULTS)
def test_each_fault_of_the_transfer_then_funding_resume(live, monkeypatch, case):
    status, words, held = CREATE_FAULTS[case]
    stage(live, case, monkeypatch)

    request = approve(live.request(status="awaiting_approval"))

    assert (request.status, request.last_error) == (status, words)
    if held:
        live.wait_for_movements(request, held)  # a delayed call finishes at the exchange
    assert len(live.movements(request)) == held
    reached = 0 if case in ("timeout before sending", "token refused") else 1
    assert len(live.creates(request)) == reached

    if case == "token refused":
        live.disable_firm(False)
    report = resume()

    request.refresh_from_db()
    assert (request.status, request.last_error) == ("confirmed", "")
    (movement,) = live.movements(request)
    assert movement["workflowId"] == request.workflow_id
    assert len(live.creates(request)) == reached + 1
    assert (report.sent, report.settled, report.failed) == (1, 1, [])


# --- every fault of the reads ------------------------------------------------------------------

BUSY = "the exchange could not be reached or was busy"
READ_FAULTS = {
    "timeout before sending": f"{BUSY} (timeout)",
    "timeout after sending": f"{BUSY} (timeout)",
    "connection reset": f"{BUSY} (connection_failed)",
    "5xx": f"{BUSY} (unavailable)",
    "429": f"{BUSY} (resource_exhausted)",
    "token refused": (
        "the connection to the exchange is misconfigured (sign-in refused, access_denied: client "
        "is disabled); a person must fix the settings"
    ),
    "malformed body": f"{BUSY} (malformed_response)",
}
PATHS = {
    "cash": "/GetCashMovement",
    "positions": "/v1/positions/balance",
    "pool": "/GetFundingAccountBalance",
}


def stage_read(live, case: str, family: str, monkeypatch) -> None:
    """Stage `case` for the next read of `family`; undone by `unstage`."""
    if case == "timeout before sending":
        connect_timeout_once(monkeypatch, PATHS[family])
        return
    if case == "token refused":
        live.disable_firm()
        return
    kind = {
        "timeout after sending": {"kind": "latency", "latencyMs": 1500},
        "connection reset": {"kind": "drop"},
        "5xx": {"kind": "error", "status": 503},
        "429": {"kind": "rate_limit", "retryAfter": 1},
        "malformed body": {"kind": "malformed"},
    }[case]
    live.fault(family="cash" if family == "pool" else family, count=1, **kind)


def unstage(live, case: str) -> None:
    if case == "token refused":
        live.disable_firm(False)


@pytest.mark.parametrize("case", READ_FAULTS)
def test_each_fault_reading_a_pending_movement(live, case, monkeypatch):
    live.fault(family="cash", kind="cash_pending", count=1, settleAfter=0)
    request = approve(live.request(status="awaiting_approval"))
    stage_read(live, case, "cash", monkeypatch)

    report = resume()

    request.refresh_from_db()
    assert request.status == "pending"
    assert request.last_error == (
        f"Pending at the exchange; asking it failed ({READ_FAULTS[case]}) and it is asked again."
    )
    assert report.failed == [f"#{request.pk}: {request.last_error}"]
    unstage(live, case)
    resume()
    request.refresh_from_db()
    assert (request.status, request.last_error) == ("confirmed", "")
    assert len(live.movements(request)) == 1
    assert len(live.creates(request)) == 1


@pytest.mark.parametrize("case", READ_FAULTS)
def test_each_fault_reading_free_cash_at_approval(live, case, monkeypatch):
    live.fund_participant("500.00")
    request = live.request(status="awaiting_approval", direction="withdrawal")
    stage_read(live, case, "positions", monkeypatch)

    with pytest.raises(FundingError) as refused:
        approve(request)

    assert refused.value.message == (
        f"Not approved: the participant's free cash could not be read ({READ_FAULTS[case]}). "
        "Try again in a moment."
    )
    request.refresh_from_db()
    assert (request.status, request.approved_by) == ("awaiting_approval", None)
    assert live.creates() == []


@pytest.mark.parametrize("case", READ_FAULTS)
def test_each_fault_reading_free_cash_just_before_sending(live, case, monkeypatch):
    live.fund_participant("500.00")
    request = live.request(direction="withdrawal")
    stage_read(live, case, "positions", monkeypatch)

    resume()

    request.refresh_from_db()
    assert request.status == "approved"
    assert request.last_error == (
        f"Not sent: the free cash could not be read just before sending ({READ_FAULTS[case]}). "
        "It stays approved and is sent by the next run of funding_resume."
    )
    assert live.creates() == []
    unstage(live, case)
    resume()
    request.refresh_from_db()
    assert request.status == "confirmed"
    assert len(live.movements(request)) == 1


@pytest.mark.parametrize("case", READ_FAULTS)
def test_each_fault_reading_the_funding_account(live, case, monkeypatch, client):
    pool_topup_record(
        amount="1000000.00",
        reference="opening",
        memo="",
        actor=UserFactory.create(roles=["treasury"]),
    )
    client.force_login(UserFactory.create(roles=["treasury"]))
    stage_read(live, case, "pool", monkeypatch)

    response = client.get("/funding/balance/")

    assert response.status_code == 200
    page = response.content.decode()
    assert f"The exchange could not be asked: {READ_FAULTS[case]}." in page
    assert "Not checked: the exchange's balance could not be read." in page
    unstage(live, case)
    assert "The identity holds" in client.get("/funding/balance/").content.decode()


def test_a_token_refused_while_reading_stops_the_run(live):
    live.fault(family="cash", kind="cash_pending", count=1, settleAfter=0)
    first = approve(live.request(status="awaiting_approval"))
    live.fault(family="cash", kind="cash_pending", count=1, settleAfter=0)
    second = approve(live.request(status="awaiting_approval"))
    live.disable_firm()

    report = resume()

    assert report.misconfigured.startswith("the connection to the exchange is misconfigured")
    assert len(report.failed) == 1
    assert {r.status for r in FundingRequest.objects.filter(pk__in=[first.pk, second.pk])} == {
        "pending"
    }
