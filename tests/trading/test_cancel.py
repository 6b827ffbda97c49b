"""Support's cancel of an open order: by role, with a required reason, audited as acting on
behalf of the participant; the exchange's refusal shown; and every fault of the call leaving an
exact state, message and number of requests at the exchange, never a blind second send."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from django.core.management import CommandError, call_command
from django.utils.html import escape

from backoffice.audit.models import AuditEvent
from backoffice.gateway import client as gateway_client
from backoffice.gateway import errors
from backoffice.gateway.auth import TokenManager
from backoffice.gateway.client import Gateway
from backoffice.gateway.ratelimit import RateLimiter
from backoffice.gateway.recording import MemoryRecorder
from tests.backoffice.gateway.fakes import FakeExchange, Reply, Sleeps, make_settings, new_key
from tests.trading.rows import SYMBOL, orders, participant_with_account
from trading.models import OrderCancel, OrderCancelChange
from trading.services import order_cancel_settle
from trading.states import ALLOWED, CancelTransitionRefused, order_cancel_transition

pytestmark = pytest.mark.django_db
S = OrderCancel.Status
KEY = new_key()
CANCEL, OPEN = "/v1/trading/orders/cancel", "/v1/trading/orders/open"
ACCOUNT = "firms/ISV-Acme/accounts/0ada"


@dataclass
class Exchange:
    fake: FakeExchange
    recorder: MemoryRecorder

    def cancels(self) -> list:
        return [r for r in self.fake.api_requests() if r.url.endswith(CANCEL)]


@pytest.fixture
def exchange(monkeypatch) -> Exchange:
    """The process's gateway, real, with a fake exchange at its HTTP seam."""
    fake = FakeExchange([KEY])
    sleeps = Sleeps()
    config = make_settings([KEY])
    recorder = MemoryRecorder()
    gateway = Gateway(
        settings=config,
        transport=fake,
        tokens=TokenManager(config, fake, sleep=sleeps),
        limiter=RateLimiter(enabled=False),
        recorder=recorder,
        sleep=sleeps,
    )
    monkeypatch.setattr(gateway_client, "_default", gateway)
    return Exchange(fake, recorder)


@pytest.fixture
def order():
    participant_with_account("ada", ACCOUNT)
    return orders(1, account=ACCOUNT)[0]


def cancel_url(order) -> str:
    return f"/trading/orders/{order.exchange_id}/cancel/"


def test_support_cancels_with_a_reason_on_behalf_of_the_participant(persona, exchange, order):
    exchange.fake.on("POST", CANCEL, Reply(body={}))
    response = persona("support").post(
        cancel_url(order), {"reason": "  Participant asked   by phone "}, follow=True
    )
    assert response.status_code == 200
    cancel = OrderCancel.objects.get()
    assert (cancel.status, cancel.reason, cancel.requested_by.username) == (
        S.REQUESTED,
        "Participant asked by phone",
        "support-persona",
    )
    assert (
        "The exchange accepted the cancel; the order shows as canceled once Drop Copy reports it."
        in response.content.decode()
    )
    (sent,) = exchange.cancels()
    assert sent.json == {"orderId": order.exchange_id, "symbol": SYMBOL}
    assert sent.headers["x-participant-id"] == "firms/ISV-Participant-Acme/users/ada"
    (call,) = [a for a in exchange.recorder.attempts if a.operation == "cancel_order"]
    assert call.context.actor.username == "support-persona"
    assert call.context.participant_id == "firms/ISV-Participant-Acme/users/ada"
    requested = AuditEvent.objects.get(action="trading.order_cancel.requested")
    assert requested.actor is not None
    assert requested.actor.username == "support-persona"
    assert requested.payload == {
        "order": order.exchange_id,
        "on_behalf_of": cancel.participant.pk,
        "participant_id": "firms/ISV-Participant-Acme/users/ada",
    }
    assert list(OrderCancelChange.objects.values_list("from_status", "to_status")) == [
        (S.SENDING, S.REQUESTED)
    ]


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_reason_is_required(persona, exchange, order, reason):
    response = persona("support").post(cancel_url(order), {"reason": reason})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode() or (
        "Give the reason for the cancel." in response.content.decode()
    )
    assert OrderCancel.objects.count() == 0
    assert exchange.cancels() == []


@pytest.mark.parametrize("role", ["compliance", "treasury", "supervisor"])
def test_only_support_may_cancel(persona, exchange, order, role):
    response = persona(role).post(cancel_url(order), {"reason": "because"})
    assert response.status_code == 403
    assert OrderCancel.objects.count() == 0
    assert exchange.cancels() == []
    assert (
        "Cancel this order"
        not in persona(role).get(f"/trading/orders/{order.exchange_id}/").content.decode()
    )


def test_a_closed_order_is_not_sent(persona, exchange, order):
    order.state = "FILLED"
    order.save()
    response = persona("support").post(cancel_url(order), {"reason": "x"}, follow=True)
    assert "This order is filled: only an open order can be canceled." in response.content.decode()
    assert exchange.cancels() == []


def test_the_exchanges_refusal_is_shown(persona, exchange, order):
    exchange.fake.on("POST", CANCEL, Reply(409, {"code": 10, "message": "order is already filled"}))
    response = persona("support").post(cancel_url(order), {"reason": "asked"}, follow=True)
    cancel = OrderCancel.objects.get()
    assert cancel.status == S.REFUSED
    assert cancel.message == "Refused by the exchange (aborted): order is already filled"
    assert escape(cancel.message) in response.content.decode()
    assert len(exchange.cancels()) == 1


@dataclass(frozen=True)
class Fault:
    reply: Reply | None  # None: the token endpoint refuses
    status: str
    message: str
    requests: int


UNKNOWN = (
    "Sent; the exchange's answer is not known yet ({}) and is being checked by reading the "
    "participant's open orders. It is never sent again blind."
)
NOT_SENT = "Not sent: the exchange could not take it now ({}), so nothing changed there. You may ask again."
FAULTS = {
    "timeout before sending": Fault(
        Reply(error=errors.Timeout("ConnectTimeout", reached=False)), S.NOT_SENT,
        NOT_SENT.format("timeout"), 1,
    ),
    "timeout after sending": Fault(
        Reply(error=errors.Timeout("ReadTimeout", reached=True)), S.OUTCOME_UNKNOWN,
        UNKNOWN.format("timeout"), 1,
    ),
    "connection reset": Fault(
        Reply(error=errors.ConnectionFailed("ConnectionResetError", reached=True)),
        S.OUTCOME_UNKNOWN, UNKNOWN.format("connection_failed"), 1,
    ),
    "5xx": Fault(Reply(503, {"code": 14}), S.OUTCOME_UNKNOWN, UNKNOWN.format("unavailable"), 1),
    "429": Fault(
        Reply(429, {"code": 8, "message": "rate limit exceeded"}, headers={"Retry-After": "1"}),
        S.NOT_SENT, NOT_SENT.format("resource_exhausted"), 1,
    ),
    "refused token": Fault(
        Reply(401, {"code": 16, "message": "token revoked"}), S.NOT_SENT,
        "Not sent: the connection to the exchange is misconfigured (unauthenticated: token "
        "revoked). An administrator must fix the settings.", 2,
    ),
    "token endpoint refusing": Fault(
        None, S.NOT_SENT,
        "Not sent: the connection to the exchange is misconfigured (sign-in refused, "
        "invalid_client: Invalid signature). An administrator must fix the settings.", 0,
    ),
    "malformed body": Fault(
        Reply(200, b"{not json"), S.OUTCOME_UNKNOWN, UNKNOWN.format("malformed_response"), 1
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(FAULTS))
def test_every_fault_leaves_an_exact_state(persona, exchange, order, name):
    fault = FAULTS[name]
    if fault.reply is None:
        exchange.fake.token_script = [
            Reply(401, {"error": "invalid_client", "error_description": "Invalid signature"})
        ] * 10
        exchange.fake.on("POST", CANCEL, Reply(body={}))
    else:
        exchange.fake.on("POST", CANCEL, fault.reply)
    response = persona("support").post(cancel_url(order), {"reason": "asked"}, follow=True)
    assert response.status_code == 200
    cancel = OrderCancel.objects.get()
    assert (cancel.status, cancel.message) == (fault.status, fault.message)
    assert escape(fault.message) in response.content.decode()
    assert len(exchange.cancels()) == fault.requests


def open_order_json(order) -> dict:
    return {
        "id": order.exchange_id, "symbol": SYMBOL, "account": ACCOUNT, "side": "SIDE_BUY",
        "orderQty": "1000", "leavesQty": "1000", "price": "45", "priceScale": "100",
        "fractionalQuantityScale": "100", "state": "ORDER_STATE_NEW",
    }  # fmt: skip


@pytest.mark.parametrize("still_open", [True, False])
def test_an_unknown_cancel_is_settled_by_reading_never_sent_again(
    persona, exchange, order, still_open
):
    exchange.fake.on("POST", CANCEL, Reply(503, {"code": 14}))
    persona("support").post(cancel_url(order), {"reason": "asked"})
    cancel = OrderCancel.objects.get()
    assert cancel.status == S.OUTCOME_UNKNOWN
    again = persona("support").post(cancel_url(order), {"reason": "again"}, follow=True)
    assert "A cancel of this order is already in flight" in again.content.decode()
    listed = [open_order_json(order)] if still_open else []
    exchange.fake.on("GET", OPEN, Reply(body={"orders": listed}))
    call_command("cancel_sync")
    cancel.refresh_from_db()
    assert cancel.status == (S.NOT_SENT if still_open else S.REQUESTED)
    assert len(exchange.cancels()) == 1  # read, never re-sent
    assert [r.url.endswith(OPEN) for r in exchange.fake.api_requests()].count(True) == 1


def test_cancel_sync_says_when_the_exchange_cannot_be_read(persona, exchange, order):
    exchange.fake.on("POST", CANCEL, Reply(503, {"code": 14}))
    persona("support").post(cancel_url(order), {"reason": "asked"})
    exchange.fake.on("GET", OPEN, Reply(503, {"code": 14}))
    with pytest.raises(CommandError, match="1 cancels could not be settled"):
        call_command("cancel_sync")
    cancel = OrderCancel.objects.get()
    assert cancel.status == S.OUTCOME_UNKNOWN
    assert order_cancel_settle(cancel=cancel) is False


STATUSES = list(S.values)


@pytest.mark.parametrize(("from_status", "to_status"), list(itertools.product(STATUSES, STATUSES)))
def test_every_move(order, django_user_model, from_status, to_status):
    user = django_user_model.objects.create(username="s")
    participant = participant_with_account("bob", "firms/ISV-Acme/accounts/0b0b")
    cancel = OrderCancel.objects.create(
        order=order, participant=participant, requested_by=user, reason="r",
        status=from_status, send_deadline=order.insert_time,
    )  # fmt: skip
    if to_status in ALLOWED[from_status]:
        order_cancel_transition(
            cancel=cancel, to_status=to_status, actor=None, source="test", message="m"
        )
        cancel.refresh_from_db()
        assert cancel.status == to_status
        change = OrderCancelChange.objects.get()
        assert (change.from_status, change.to_status) == (from_status, to_status)
        event = AuditEvent.objects.get(action="trading.order_cancel.status_changed")
        assert event.payload == {"order": order.exchange_id, "from": from_status, "to": to_status}
    else:
        with pytest.raises(CancelTransitionRefused):
            order_cancel_transition(
                cancel=cancel, to_status=to_status, actor=None, source="test", message="m"
            )
        cancel.refresh_from_db()
        assert cancel.status == from_status
        assert OrderCancelChange.objects.count() == 0
