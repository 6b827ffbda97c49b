"""The gateway against the sandbox exchange over loopback: every method, the token's life, each
fault mode with the retry count and final error it should produce, idempotency keys reused across
retries, pagination and the fixed-point conversions, as the real exchange would be spoken to."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from decimal import Decimal
from typing import Any

import pytest

from backoffice.gateway import errors
from backoffice.gateway.auth import TokenManager
from backoffice.gateway.client import Gateway, get_gateway
from backoffice.gateway.config import Environment
from backoffice.gateway.inputs import KycAddress, KycApplication, VendorOrder
from backoffice.gateway.models import GatewayCall
from backoffice.gateway.ratelimit import RateLimiter
from backoffice.gateway.recording import MemoryRecorder
from backoffice.gateway.transport import Request, RequestsTransport, Response
from tests.backoffice.gateway.fakes import FakeClock, Sleeps, make_settings
from tests.exchange import point_gateway_at
from tests.sandbox.partner import Partner, register_partner

SYMBOL = "aec-nfl-ne-den-2026-01-25"  # priceScale 100, fractionalQtyScale 100; house offer 0.55
WHOLE = "atc-mls-atl-clt-2026-03-22-draw"  # priceScale 100, whole contracts


class SpyTransport:
    """The real transport, remembering what went out (to check keys and headers)."""

    def __init__(self) -> None:
        self.inner = RequestsTransport()
        self.requests: list[Request] = []

    def send(self, request: Request) -> Response:
        self.requests.append(request)
        return self.inner.send(request)

    def to(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.url.split("?")[0].endswith(path)]


class Live:
    def __init__(self, partner: Partner, **config) -> None:
        self.partner = partner
        self.transport = SpyTransport()
        self.clock = FakeClock()
        self.sleeps = Sleeps()
        self.recorder = MemoryRecorder()
        cfg = make_settings(
            [partner.key],
            environment=Environment(
                "sandbox", partner.base, f"{partner.base}/oauth/token", partner.base
            ),
            client_id=partner.client_id,
            **config,
        )
        self.gateway = Gateway(
            settings=cfg,
            transport=self.transport,
            tokens=TokenManager(cfg, self.transport, clock=self.clock, sleep=self.sleeps),
            limiter=RateLimiter(enabled=False),
            recorder=self.recorder,
            sleep=self.sleeps,
        )

    def attempts(self, operation: str) -> list[tuple[int, int | None, str]]:
        return [
            (a.attempt, a.http_status, a.outcome)
            for a in self.recorder.attempts
            if a.operation == operation
        ]

    @property
    def exchanges(self) -> int:
        return sum(
            1 for a in self.recorder.attempts if a.operation == "token" and a.outcome == "ok"
        )

    def fault(self, **rule: object) -> None:
        response = self.partner.admin("POST", "/faults", rule)
        assert response.status_code == 200, response.text


@pytest.fixture
def live(partner):
    return Live(partner)


def kyc_application(external_id: str, **changes) -> KycApplication:
    values: dict[str, Any] = {
        "external_id": external_id,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "date_of_birth": dt.date(1990, 1, 15),
        "ssn": "123456789",
        "email": f"{external_id}@example.com",
        "phone_number": "+12125551234",
        "address": KycAddress("1 Main St", "New York", "NY", "10001"),
        "ip_address": "203.0.113.7",
        "agreement_version": "PMX.ISV.SANDBOX.v1.0",
        "agreement_signed_at": dt.datetime.now(tz=dt.UTC),
    }
    values.update(changes)
    return KycApplication(**values)


# --- every method -------------------------------------------------------------------------------


def test_identity_methods(live, participant):
    pid, account = participant
    gateway = live.gateway

    who = gateway.whoami(actor=None)
    users = gateway.users(participant_id=pid, actor=None)
    accounts = gateway.accounts(actor=None)

    assert who.firm == f"ISV-Participant-{live.partner.firm_id}"
    assert who.audience == live.partner.base
    assert pid in [u.participant_id for u in users]
    assert account in [a.account for a in accounts]


def test_kyc_start_status_and_webhook_registration(live, webhook_receiver):
    gateway = live.gateway

    registration = gateway.kyc_register_webhook(webhook_url=webhook_receiver.url, actor=None)
    started = gateway.kyc_start(application=kyc_application("gw-approve"), actor=None)
    live.partner.tick()
    status = gateway.kyc_status(external_id="gw-approve", actor=None)
    review = gateway.kyc_start(
        application=kyc_application("gw-review", first_name="Paulina", last_name="Gizela"),
        actor=None,
    )
    with pytest.raises(errors.AlreadyExists):
        gateway.kyc_start(application=kyc_application("gw-approve"), actor=None)

    assert registration.validated is True
    assert (started.decision, started.status, started.participant_id) == ("ACCEPT", "ON_HOLD", "")
    assert (status.decision, status.status, status.external_id) == (
        "ACCEPT",
        "CLOSED",
        "gw-approve",
    )
    assert status.participant_id == f"firms/ISV-Participant-{live.partner.firm_id}/users/gw-approve"
    assert status.provisioned_account.startswith(f"firms/ISV-{live.partner.firm_id}/accounts/")
    assert (review.decision, review.docv) == ("REVIEW", None)


def test_cash_movements_and_the_pool(live, participant):
    _pid, account = participant
    gateway = live.gateway
    before = gateway.funding_account_balance(actor=None)

    created = gateway.create_cash_movement(
        idempotency_key=f"dep-{uuid.uuid4()}", reason="DEPOSIT", participant_account_id=account,
        amount=Decimal("500.00"), external_reference="journal-1", actor=None,
    )  # fmt: skip
    read = gateway.get_cash_movement(workflow_id=created.workflow_id, actor=None)
    after = gateway.funding_account_balance(actor=None)
    refused = gateway.create_cash_movement(
        idempotency_key=f"wd-{uuid.uuid4()}", reason="WITHDRAWAL", participant_account_id=account,
        amount=Decimal("99999.00"), external_reference="journal-2", actor=None,
    )  # fmt: skip

    assert (created.status, created.amount, created.reason) == (
        "CASH_MOVEMENT_STATUS_CONFIRMED", Decimal("500.00"), "TRANSFER_REASON_DEPOSIT",
    )  # fmt: skip
    assert read.workflow_id == created.workflow_id
    assert read.destination_account_id == account
    assert isinstance(read.created_at, dt.datetime)
    assert read.created_at.tzinfo is not None
    assert before.balance - after.balance == Decimal("500.00")
    assert (refused.status, refused.rejection_reason) == (
        "CASH_MOVEMENT_STATUS_REJECTED", "INSUFFICIENT_FUNDS",
    )  # fmt: skip
    connect = live.transport.to("CashMovementService/CreateCashMovement")
    assert all("x-participant-id" not in r.headers for r in connect)


def test_a_vendor_order_fills_and_shows_everywhere_in_decimals(live, participant):
    pid, account = participant
    gateway = live.gateway
    (instrument,) = gateway.instruments(symbols=[SYMBOL], actor=None).items()
    order = VendorOrder(
        account=account, symbol=SYMBOL, side="SIDE_BUY", price=Decimal("0.60"),
        clord_id=f"c-{uuid.uuid4().hex[:10]}", quantity=Decimal("100"),
    )  # fmt: skip

    result = gateway.create_vendor_order(
        idempotency_key=f"vo-{uuid.uuid4()}", order=order, vendor_fee=Decimal("0.10"), actor=None
    )
    (position,) = gateway.positions(
        participant_id=pid, account=account, symbol=SYMBOL, actor=None
    ).items()
    (searched,) = gateway.search_orders(
        participant_id=pid, order_id=result.order_id, actor=None
    ).items()
    executions = list(
        gateway.search_executions(participant_id=pid, order_id=result.order_id, actor=None).items()
    )
    trades = list(
        gateway.search_trades(participant_id=pid, order_id=result.order_id, actor=None).items()
    )
    ledger = list(gateway.balance_ledger(participant_id=pid, account=account, actor=None).items())
    position_ledger = list(
        gateway.position_ledger(participant_id=pid, account=account, actor=None).items()
    )
    balance = gateway.balance(participant_id=pid, account=account, actor=None)
    balances = gateway.balances(participant_id=pid, account=account, actor=None)

    assert (instrument.price_scale, instrument.qty_scale, instrument.tick_size) == (
        100,
        100,
        Decimal("0.01"),
    )
    assert result.status == "VENDOR_ORDER_STATUS_ACCEPTED"
    assert live.transport.to("CreateVendorOrder")[0].json["order"]["orderQty"] == "10000"
    assert (position.net_position, position.qty_bought) == (Decimal("100"), Decimal("100"))
    assert position.cost == Decimal("55")  # 100 contracts at the house offer of $0.55
    assert (searched.state, searched.order_qty, searched.cum_qty, searched.avg_px) == (
        "ORDER_STATE_FILLED", Decimal("100"), Decimal("100"), Decimal("0.55"),
    )  # fmt: skip
    fills = [e for e in executions if e.type == "EXECUTION_TYPE_FILL"]
    assert [(e.last_shares, e.last_px) for e in fills] == [(Decimal("100"), Decimal("0.55"))]
    assert fills[0].commission > 0
    assert [(t.state, t.aggressor.last_px if t.aggressor else None) for t in trades] == [
        ("TRADE_STATE_CLEARED", Decimal("0.55"))
    ]
    kinds = [e.entry_type for e in ledger]
    assert "LEDGER_ENTRY_TYPE_BALANCE_DEPOSIT" in kinds
    assert "LEDGER_ENTRY_TYPE_BALANCE_ORDER_EXECUTION" in kinds
    execution = next(
        e for e in ledger if e.entry_type == "LEDGER_ENTRY_TYPE_BALANCE_ORDER_EXECUTION"
    )
    assert execution.amount == Decimal("-55.00")
    assert [(p.quantity_change, p.cost_change) for p in position_ledger] == [
        (Decimal("100"), Decimal("55"))
    ]
    assert balance.balance == Decimal("1000.00") - Decimal("55.00") - fills[0].commission
    assert balances["USD"] == balance


def test_open_orders_and_cancel(live, participant):
    pid, account = participant
    gateway = live.gateway
    resting = live.partner.post(
        "/v1/trading/orders",
        {"type": "ORDER_TYPE_LIMIT", "side": "SIDE_BUY", "orderQty": "500", "symbol": SYMBOL,
         "price": "30", "timeInForce": "TIME_IN_FORCE_GOOD_TILL_CANCEL", "clordId": "rest-1",
         "account": account, "manualOrderIndicator": "MANUAL_ORDER_INDICATOR_MANUAL"},
        pid=pid,
    )  # fmt: skip
    assert resting.status_code == 200, resting.text
    order_id = resting.json()["orderId"]

    (open_order,) = gateway.open_orders(participant_id=pid, accounts=[account], actor=None)
    gateway.cancel_order(participant_id=pid, order_id=order_id, symbol=SYMBOL, actor=None)
    after = gateway.open_orders(participant_id=pid, accounts=[account], actor=None)
    with pytest.raises(errors.PermanentError):
        gateway.cancel_order(participant_id=pid, order_id=order_id, symbol=SYMBOL, actor=None)

    assert (open_order.id, open_order.price, open_order.order_qty, open_order.state) == (
        order_id, Decimal("0.3"), Decimal("5"), "ORDER_STATE_NEW",
    )  # fmt: skip
    assert after == []


def test_settlement(live):
    gateway = live.gateway

    before = gateway.settlement(symbol=WHOLE, actor=None)
    settled = live.partner.admin("POST", f"/instruments/{WHOLE}/settle", {"settlementPx": "100"})
    assert settled.status_code == 200, settled.text
    after = gateway.settlement(symbol=WHOLE, actor=None)
    with pytest.raises(errors.NotFound):
        gateway.settlement(symbol="no-such-symbol", actor=None)

    assert (before.settled, before.settlement_price) == (False, None)
    assert (after.settled, after.settlement_price, after.preliminary) == (True, Decimal("1"), False)


# --- the token's life -----------------------------------------------------------------------------


def test_one_token_exchange_for_many_calls(live):
    for _ in range(30):
        live.gateway.whoami(actor=None)

    assert live.exchanges == 1
    assert len(live.transport.to("/oauth/token")) == 1


def test_the_token_is_renewed_before_it_expires(live):
    live.gateway.whoami(actor=None)
    live.clock.advance(149)
    live.gateway.whoami(actor=None)
    live.clock.advance(2)  # 151 s: within 30 s of the 180 s the sandbox granted
    live.gateway.whoami(actor=None)

    assert live.exchanges == 2
    # The second exchange happened just before the third call (the sandbox may hand out the same
    # token string within one second: its tokens carry no jti).
    order = [r.url.rsplit("/", 1)[-1] for r in live.transport.requests]
    assert order == ["token", "whoami", "whoami", "token", "whoami"]


def test_a_token_the_exchange_refuses_is_renewed_once_and_the_call_retried(live):
    assert live.partner.admin("PATCH", "/config", {"token_expires_in": 1}).status_code == 200
    live.gateway.whoami(actor=None)  # the client's (frozen) clock keeps this token "fresh"
    time.sleep(2.1)  # the sandbox's clock does not: the token has expired there
    assert live.partner.admin("PATCH", "/config", {"token_expires_in": 180}).status_code == 200

    live.gateway.whoami(actor=None)

    assert live.attempts("whoami") == [(1, 200, "ok"), (1, 401, "Unauthenticated"), (2, 200, "ok")]
    assert live.exchanges == 2


# --- fault modes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "first_outcome"),
    [
        ({"kind": "error", "status": 500}, (500, "InternalError")),
        ({"kind": "error", "status": 502}, (502, "Unavailable")),
        ({"kind": "error", "status": 503}, (503, "Unavailable")),
        ({"kind": "error", "status": 504}, (504, "DeadlineExceeded")),
        ({"kind": "rate_limit", "retryAfter": 2}, (429, "RateLimited")),
        ({"kind": "drop"}, (None, "ConnectionFailed")),
        ({"kind": "malformed"}, (200, "MalformedResponse")),
    ],
)
def test_a_read_retries_through_each_fault(live, rule, first_outcome):
    live.gateway.whoami(actor=None)  # the token first, so the fault hits the call
    live.fault(family="identity", count=2, **rule)

    live.gateway.whoami(actor=None)

    assert live.attempts("whoami")[1:] == [(1, *first_outcome), (2, *first_outcome), (3, 200, "ok")]
    if rule["kind"] == "rate_limit":
        assert live.sleeps == [2.0, 2.0]  # Retry-After, not the backoff
    else:
        assert len(live.sleeps) == 2


@pytest.mark.parametrize(
    ("rule", "error"),
    [
        ({"kind": "error", "status": 503}, errors.Unavailable),
        ({"kind": "drop"}, errors.ConnectionFailed),
        ({"kind": "malformed"}, errors.MalformedResponse),
        ({"kind": "rate_limit", "retryAfter": 1}, errors.RateLimited),
    ],
)
def test_a_read_gives_up_after_five_attempts(live, rule, error):
    live.gateway.whoami(actor=None)
    live.fault(family="identity", count=10, **rule)

    with pytest.raises(error) as caught:
        live.gateway.whoami(actor=None)

    assert caught.value.retryable is True
    assert len(live.attempts("whoami")) == 1 + 5
    assert len(live.sleeps) == 4


def test_latency_beyond_the_timeout_is_a_timeout_then_retried(partner):
    live = Live(partner, job_read_timeout=0.2)
    live.gateway.whoami(actor=None)
    live.fault(family="identity", kind="latency", latencyMs=600, count=1)

    live.gateway.whoami(actor=None)

    assert live.attempts("whoami")[1:] == [(1, None, "Timeout"), (2, 200, "ok")]


def test_latency_within_the_timeout_is_just_slow(live):
    live.gateway.whoami(actor=None)
    live.fault(family="identity", kind="latency", latencyMs=100, count=1)

    live.gateway.whoami(actor=None)

    assert live.attempts("whoami")[1:] == [(1, 200, "ok")]
    assert live.sleeps == []


def test_a_cancel_is_not_retried_through_a_fault(live, participant):
    pid, _account = participant
    live.gateway.whoami(actor=None)
    live.fault(family="orders", kind="error", status=503, count=1)

    with pytest.raises(errors.Unavailable):
        live.gateway.cancel_order(participant_id=pid, order_id="BT3DNMHB94XJ", actor=None)

    assert live.attempts("cancel_order") == [(1, 503, "Unavailable")]


def test_a_deposit_timed_out_after_the_exchange_acted_is_created_once(partner, participant):
    """The worst case: the exchange did the transfer but the answer never arrived. The retry
    reuses the key, the exchange replays the recorded result, and the money moves once."""
    _pid, account = participant
    live = Live(partner, job_read_timeout=0.3)
    pool = live.gateway.funding_account_balance(actor=None).balance
    live.fault(family="cash", kind="latency", latencyMs=900, count=1)
    live.fault(family="cash", kind="error", status=503, count=1)
    key = f"dep-{uuid.uuid4()}"

    movement = live.gateway.create_cash_movement(
        idempotency_key=key, reason="DEPOSIT", participant_account_id=account,
        amount=Decimal("25.00"), external_reference="journal-9", actor=None,
    )  # fmt: skip
    time.sleep(0.8)  # let the first, slow request finish on the sandbox's side
    after = live.gateway.funding_account_balance(actor=None).balance

    sent = live.transport.to("CashMovementService/CreateCashMovement")
    assert [r.json["idempotencyKey"] for r in sent] == [key] * len(sent)
    assert live.attempts("create_cash_movement")[-1] == (len(sent), 200, "ok")
    assert len(sent) >= 2
    assert movement.status == "CASH_MOVEMENT_STATUS_CONFIRMED"
    assert pool - after == Decimal("25.00")


def test_a_keyed_write_retries_through_a_rate_limit_with_the_same_key(live, participant):
    _pid, account = participant
    live.gateway.whoami(actor=None)
    live.fault(family="cash", kind="rate_limit", retryAfter=1, count=1)
    live.fault(family="cash", kind="drop", count=1)
    key = f"dep-{uuid.uuid4()}"

    movement = live.gateway.create_cash_movement(
        idempotency_key=key, reason="DEPOSIT", participant_account_id=account,
        amount=Decimal("10.00"), external_reference="journal-10", actor=None,
    )  # fmt: skip

    assert live.attempts("create_cash_movement") == [
        (1, None, "ConnectionFailed"), (2, 429, "RateLimited"), (3, 200, "ok"),
    ]  # fmt: skip
    assert {r.json["idempotencyKey"] for r in live.transport.to("CreateCashMovement")} == {key}
    assert movement.idempotency_key == key
    assert live.sleeps[1] == 1.0  # the Retry-After


@pytest.mark.parametrize("kind", ["cash_pending", "cash_ambiguous"])
def test_a_pending_or_ambiguous_transfer_is_an_answer_and_replays_to_the_same_workflow(
    live, participant, kind
):
    _pid, account = participant
    live.fault(family="cash", kind=kind, count=1, settleAfter=0)
    key = f"dep-{uuid.uuid4()}"

    def deposit():
        return live.gateway.create_cash_movement(
            idempotency_key=key, reason="DEPOSIT", participant_account_id=account,
            amount=Decimal("50.00"), external_reference="journal-11", actor=None,
        )  # fmt: skip

    first = deposit()
    live.partner.tick()
    settled = live.gateway.get_cash_movement(workflow_id=first.workflow_id, actor=None)
    replay = deposit()

    assert first.status == f"CASH_MOVEMENT_STATUS_{kind.removeprefix('cash_').upper()}"
    assert first.terminal is False
    assert (settled.status, settled.terminal) == ("CASH_MOVEMENT_STATUS_CONFIRMED", True)
    assert (replay.workflow_id, replay.status) == (
        first.workflow_id,
        "CASH_MOVEMENT_STATUS_CONFIRMED",
    )
    assert live.attempts("create_cash_movement") == [(1, 200, "ok"), (1, 200, "ok")]


def test_the_exchanges_own_rate_limit_is_honoured_then_reported(sandbox_factory):
    server = sandbox_factory(rate_limits=True)
    live = Live(register_partner(server.url))
    for _ in range(6):  # the sandbox's refdata bucket holds six calls, then refills at 6/min
        list(live.gateway.instruments(symbols=[SYMBOL], actor=None).items())

    with pytest.raises(errors.RateLimited) as caught:
        list(live.gateway.instruments(symbols=[SYMBOL], actor=None).items())

    assert caught.value.http_status == 429
    assert caught.value.retry_after is not None
    assert 0 < caught.value.retry_after <= 10
    assert [outcome for _a, _s, outcome in live.attempts("instruments")[6:]] == ["RateLimited"] * 5
    assert live.sleeps == [caught.value.retry_after] * 4  # Retry-After each time, not the backoff


# --- pagination -----------------------------------------------------------------------------------


def test_the_ledger_is_read_page_by_page(live, participant):
    pid, account = participant
    for n in range(4):
        live.partner.deposit(account, f"{n + 1}.00")

    entries = list(
        live.gateway.balance_ledger(
            participant_id=pid, account=account, page_size=2, actor=None
        ).items()
    )

    pages = live.transport.to("/v1/funding/balance-ledger")
    assert len(entries) == 5  # the fixture's $1,000 and four more
    assert len({e.id for e in entries}) == 5
    assert len(pages) == 3
    assert "pageToken" not in pages[0].params
    assert all(p.params["pageToken"] for p in pages[1:])
    assert [e.amount for e in entries] == [
        Decimal("1000.00"),
        *(Decimal(f"{n}.00") for n in (1, 2, 3, 4)),
    ]


def test_instruments_are_read_page_by_page(live):
    instruments = list(live.gateway.instruments(page_size=1, actor=None).items())

    # One instrument a page: as many requests as instruments (the last page says eof).
    assert len(instruments) >= 2
    assert len(live.transport.to("/v1/refdata/instruments")) == len(instruments)
    assert len({i.symbol for i in instruments}) == len(instruments)


# --- from settings, recorded in the database ------------------------------------------------------


def test_the_configured_gateway_reaches_the_sandbox_and_records_calls(
    db, settings, tmp_path, partner
):
    point_gateway_at(settings, partner, tmp_path)

    who = get_gateway().whoami(actor=None)

    assert who.firm == f"ISV-Participant-{partner.firm_id}"
    assert list(
        GatewayCall.objects.order_by("id").values_list("operation", "http_status", "outcome")
    ) == [
        ("token", 200, "ok"),
        ("whoami", 200, "ok"),
    ]
