"""Every fault of every read the nightly run makes (an account's balance, the valuations
statement of a page of accounts, the pool's balance), against the sandbox: the run is incomplete,
names exactly what it could not check and why, and raises no break; the next run, with the
exchange back, is complete and clean. A refused token stops the run at once: failed, saying the
connection is misconfigured, and no break either.

The faults are staged at the transport seam, on one path only, so each read is hit on its own
while every other call reaches the sandbox; a fault that happens after sending forwards the
request first, so the exchange did receive it."""

from __future__ import annotations

import pytest

from backoffice.gateway import errors
from backoffice.gateway.client import reset_gateway
from backoffice.gateway.transport import Request, RequestsTransport, Response
from backoffice.reconciliation.checks import FIRM, Check
from backoffice.reconciliation.models import Break, RunState
from backoffice.reconciliation.runs import exit_code
from funding.reconciliation import CashCheck, MovementsCheck, PoolCheck
from tests.funding.test_cash_reconciliation import reconcile, today
from tests.funding.test_reconciliation import firm  # noqa: F401 - the fixture
from trading.reconciliation import PositionsCheck

CHECKS: list[Check] = [CashCheck(), MovementsCheck(), PositionsCheck(), PoolCheck()]

# the read -> (path it ends with, what it leaves unchecked: an account, or the firm's pool)
READS = {
    "balance": ("/v1/positions/balance", "account"),
    "statement": ("/v1/valuations/accounts/statement/download", "account"),
    "pool": ("/GetFundingAccountBalance", FIRM),
}


def _json(status: int, code: int) -> Response:
    return Response(status=status, headers={}, body=b'{"code": %d, "message": "busy"}' % code)


# fault -> (is the request sent first, what the transport then does, the code staff read)
FAULTS = {
    "timeout before sending": (False, errors.Timeout("ConnectTimeout", reached=False), "timeout"),
    "timeout after sending": (True, errors.Timeout("ReadTimeout", reached=True), "timeout"),
    "connection reset": (
        True,
        errors.ConnectionFailed("ConnectionResetError", reached=True),
        "connection_failed",
    ),
    "5xx": (True, _json(503, 14), "unavailable"),
    "429": (True, _json(429, 8), "resource_exhausted"),
    "malformed body": (True, Response(status=200, headers={}, body=b'{"result": '), "malformed_response"),
}  # fmt: skip


class FaultOn(RequestsTransport):
    """The real transport, except that a call to `path` meets `fault` while it is armed."""

    path = ""
    fault: tuple[bool, Exception | Response, str] | None = None
    arrived = 0  # calls to `path` that reached the sandbox

    def send(self, request: Request) -> Response:
        if FaultOn.fault is None or not request.url.endswith(FaultOn.path):
            return super().send(request)
        forwards, outcome, _ = FaultOn.fault
        if forwards:
            super().send(request)
            FaultOn.arrived += 1
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


@pytest.fixture
def fault_on(monkeypatch):
    def arm(path: str, fault: tuple[bool, Exception | Response, str] | None) -> None:
        FaultOn.path, FaultOn.fault, FaultOn.arrived = path, fault, 0
        reset_gateway()  # the next call builds the client on this transport

    monkeypatch.setattr("backoffice.gateway.client.RequestsTransport", FaultOn)
    yield arm
    FaultOn.fault = None
    reset_gateway()


@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize("fault", FAULTS)
def test_a_fault_on_a_read_leaves_the_run_incomplete_naming_what_was_not_checked(
    firm,  # noqa: F811
    fault_on,
    read,
    fault,
):
    path, scope = READS[read]
    unchecked = firm.account.account_id if scope == "account" else FIRM
    fault_on(path, FAULTS[fault])

    run = reconcile(today(), CHECKS)

    assert (run.state, exit_code(run), run.breaks_found) == (RunState.INCOMPLETE, 2, 0)
    assert list(run.not_checked) == [unchecked]
    assert run.not_checked[unchecked].startswith(
        f"the exchange failed (not_sent): {FAULTS[fault][2]}"
    )
    assert Break.objects.count() == 0
    assert FaultOn.arrived == (1 if FAULTS[fault][0] else 0)

    fault_on(path, None)
    again = reconcile(today(), CHECKS)

    assert (again.state, exit_code(again), again.not_checked) == (RunState.COMPLETE, 0, {})
    assert Break.objects.count() == 0


def test_a_refused_token_fails_the_run_as_misconfigured_and_concludes_nothing(firm):  # noqa: F811
    firm.disable_firm()

    run = reconcile(today(), CHECKS)

    assert (run.state, exit_code(run), run.breaks_found) == (RunState.FAILED, 2, 0)
    assert run.error == (
        "the exchange connection is misconfigured: sign-in refused, access_denied: client is disabled"
    )
    assert Break.objects.count() == 0

    firm.disable_firm(False)
    again = reconcile(today(), CHECKS)
    assert (again.state, exit_code(again), Break.objects.count()) == (RunState.COMPLETE, 0, 0)
