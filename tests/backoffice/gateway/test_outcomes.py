"""Every failed call ends in one outcome callers can switch on: not sent, refused, outcome unknown
or misconfigured. What decides it: whether the request can have reached the exchange, and whether
the call changes anything there."""

from __future__ import annotations

import socket
import threading
from decimal import Decimal

import pytest
import requests

from backoffice.gateway import errors
from backoffice.gateway.errors import Outcome
from backoffice.gateway.transport import Request, RequestsTransport
from tests.backoffice.gateway.fakes import TOKEN_URL, Reply

PID = "firms/ISV-Participant-Acme/users/user-123"
ACCOUNT = "firms/ISV-Acme/accounts/8f3a2c"
CASH_PATH = "/polymarket.us.cashmovement.v1.CashMovementService/CreateCashMovement"
WHOAMI = {"user": "firms/ISV-Participant-Acme/users/admin", "firm": "ISV-Participant-Acme"}

TIMEOUT_BEFORE_SENDING = Reply(error=errors.Timeout("ConnectTimeout", reached=False))
TIMEOUT_AFTER_SENDING = Reply(error=errors.Timeout("ReadTimeout", reached=True))
REFUSED_CONNECTION = Reply(error=errors.ConnectionFailed("NewConnectionError", reached=False))
RESET = Reply(error=errors.ConnectionFailed("ConnectionResetError", reached=True))
TLS = Reply(error=errors.TlsFailed("SSLError: SSLCertVerificationError"))

# (answer, outcome of a read, outcome of a write)
CASES = {
    "timeout before sending": (TIMEOUT_BEFORE_SENDING, Outcome.NOT_SENT, Outcome.NOT_SENT),
    "timeout after sending": (TIMEOUT_AFTER_SENDING, Outcome.NOT_SENT, Outcome.UNKNOWN),
    "connection refused": (REFUSED_CONNECTION, Outcome.NOT_SENT, Outcome.NOT_SENT),
    "connection reset": (RESET, Outcome.NOT_SENT, Outcome.UNKNOWN),
    "500": (Reply(500, {"code": 13}), Outcome.NOT_SENT, Outcome.UNKNOWN),
    "503": (Reply(503, {"code": 14}), Outcome.NOT_SENT, Outcome.UNKNOWN),
    "504": (Reply(504, {"code": 4}), Outcome.NOT_SENT, Outcome.UNKNOWN),
    "429": (
        Reply(429, {"code": 8}, headers={"Retry-After": "120"}),
        Outcome.NOT_SENT,
        Outcome.NOT_SENT,
    ),
    "malformed body": (Reply(200, b'{"workflowId": '), Outcome.NOT_SENT, Outcome.UNKNOWN),
    "invalid argument": (Reply(400, {"code": 3, "message": "amount"}), Outcome.REFUSED, Outcome.REFUSED),
    "not found": (Reply(404, {"code": 5}), Outcome.REFUSED, Outcome.REFUSED),
    "missing scope": (
        Reply(403, {"code": 7, "message": "permission denied: missing required scope x"}),
        Outcome.MISCONFIGURED,
        Outcome.MISCONFIGURED,
    ),
    "redirect": (Reply(302, b""), Outcome.MISCONFIGURED, Outcome.MISCONFIGURED),
    "tls": (TLS, Outcome.MISCONFIGURED, Outcome.MISCONFIGURED),
}  # fmt: skip


def _deposit(gateway):
    return gateway.create_cash_movement(
        idempotency_key="dep-1", reason="DEPOSIT", participant_account_id=ACCOUNT,
        amount=Decimal("5.00"), external_reference="j-1", actor=None,
    )  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_a_failed_read_changed_nothing_whatever_happened(make_gateway, fake, case):
    answer, read_outcome, _write_outcome = CASES[case]
    gateway = make_gateway(job_max_attempts=1)
    fake.on("GET", "/v1/whoami", answer)

    with pytest.raises(errors.GatewayError) as caught:
        gateway.whoami(actor=None)

    assert caught.value.outcome is read_outcome
    assert caught.value.operation == "whoami"


@pytest.mark.parametrize("case", CASES)
def test_a_failed_write_is_unknown_once_it_may_have_arrived(make_gateway, fake, case):
    answer, _read_outcome, write_outcome = CASES[case]
    gateway = make_gateway(job_max_attempts=1)
    fake.on("POST", CASH_PATH, answer)

    with pytest.raises(errors.GatewayError) as caught:
        _deposit(gateway)

    assert caught.value.outcome is write_outcome
    assert len(fake.api_requests()) == 1


def test_a_write_stays_unknown_when_a_later_attempt_is_not_sent(gateway, fake, sleeps):
    """The first attempt may have moved the money; that the last one never left does not undo it."""
    fake.on("POST", CASH_PATH, TIMEOUT_AFTER_SENDING, *[REFUSED_CONNECTION] * 4)

    with pytest.raises(errors.ConnectionFailed) as caught:
        _deposit(gateway)

    assert caught.value.outcome is Outcome.UNKNOWN
    assert len(fake.api_requests()) == 5
    assert len(sleeps) == 4


def test_a_token_refused_after_a_fresh_one_is_misconfigured(gateway, fake):
    fake.on("GET", "/v1/whoami", Reply(401, {"code": 16, "message": "token revoked"}))

    with pytest.raises(errors.Unauthenticated) as caught:
        gateway.whoami(actor=None)

    assert caught.value.outcome is Outcome.MISCONFIGURED
    assert fake.exchanges == 2  # the first token, and the fresh one also refused
    assert len(fake.api_requests()) == 2


def test_a_token_endpoint_refusing_the_key_is_misconfigured_and_nothing_is_sent(gateway, fake):
    fake.token_script = [Reply(401, {"error": "invalid_client", "error_description": "bad key"})]

    with pytest.raises(errors.TokenExchangeFailed) as caught:
        _deposit(gateway)

    assert caught.value.outcome is Outcome.MISCONFIGURED
    assert (caught.value.error, caught.value.description) == ("invalid_client", "bad key")
    assert fake.api_requests() == []


def test_an_unreachable_token_endpoint_means_nothing_was_sent(make_gateway, fake):
    gateway = make_gateway(job_max_attempts=2)
    fake.token_script = [RESET, RESET]

    with pytest.raises(errors.TokenExchangeFailed) as caught:
        _deposit(gateway)

    assert caught.value.outcome is Outcome.NOT_SENT
    assert fake.api_requests() == []
    assert [r.url for r in fake.requests] == [TOKEN_URL, TOKEN_URL]


def test_a_call_inside_a_transaction_is_a_programming_error_not_an_outage():
    assert not issubclass(errors.GatewayCalledInTransaction, errors.GatewayError)
    assert issubclass(errors.GatewayCalledInTransaction, RuntimeError)


# --- the transport tells whether a request can have arrived ----------------------------------


def _listener(handle) -> tuple[str, threading.Thread]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def serve() -> None:
        connection, _ = server.accept()
        try:
            handle(connection)
        finally:
            connection.close()
            server.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{server.getsockname()[1]}/v1/whoami", thread


def _send(url: str, read_timeout: float = 5.0) -> None:
    RequestsTransport().send(Request(method="POST", url=url, timeout=(1.0, read_timeout), json={}))


def test_a_refused_connection_did_not_reach_the_exchange():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now

    with pytest.raises(errors.ConnectionFailed) as caught:
        _send(f"http://127.0.0.1:{port}/v1/kyc/start")

    assert caught.value.reached is False


def test_a_connection_closed_after_the_request_was_read_may_have_reached_it():
    url, thread = _listener(lambda connection: connection.recv(65536))

    with pytest.raises(errors.ConnectionFailed) as caught:
        _send(url)
    thread.join(5)

    assert caught.value.reached is True


def test_silence_after_the_request_was_read_is_a_timeout_after_sending():
    done = threading.Event()
    url, thread = _listener(lambda connection: (connection.recv(65536), done.wait(5)))

    with pytest.raises(errors.Timeout) as caught:
        _send(url, read_timeout=0.2)
    done.set()
    thread.join(5)

    assert caught.value.reached is True


def test_no_connection_within_the_connect_timeout_is_a_timeout_before_sending():
    class Unconnectable(requests.Session):
        def request(self, *args, **kwargs):
            raise requests.exceptions.ConnectTimeout("connect timed out")

    with pytest.raises(errors.Timeout) as caught:
        RequestsTransport(Unconnectable()).send(
            Request(method="POST", url="https://api.example.test/", timeout=(1.0, 1.0))
        )

    assert caught.value.reached is False
