"""The gRPC streams with a real grpcio client over loopback: resume, replay then live, busts, the
stream cap, authentication, and every stream fault."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import grpc
import pytest
import requests
from google.protobuf.timestamp_pb2 import Timestamp

from polymarket.v1 import (
    dropcopy_pb2,
    dropcopy_pb2_grpc,
    funding_pb2,
    order_entry_pb2,
    order_pb2,
    refdata_pb2,
    report_pb2,
)
from sandbox.server import SandboxServer
from sandbox.tls import self_signed
from tests.sandbox.partner import Partner, new_key, public_pem, register_partner
from tests.sandbox.streams import Reader, Streams

SYMBOL = "aec-nfl-ne-den-2026-01-25"
EPOCH = Timestamp(seconds=1)
DropCopyRequest = dropcopy_pb2.CreateDropCopySubscriptionRequest
TradesRequest = dropcopy_pb2.CreateTradeCaptureReportSubscriptionRequest


@pytest.fixture
def server(sandbox_factory: Callable[..., SandboxServer]) -> SandboxServer:
    # Batches of 2 so that a replay spans several; heartbeats every 50 ms.
    return sandbox_factory(grpc_port=0, stream_heartbeat=0.05, stream_batch_size=2)


@pytest.fixture
def partner(server: SandboxServer) -> Partner:
    return register_partner(server.url)


@pytest.fixture
def client(server: SandboxServer, partner: Partner) -> Iterator[Streams]:
    assert server.sandbox.settings.grpc_port
    streams = Streams(server.sandbox.settings.grpc_port, partner.token)
    yield streams
    streams.close()


def buy(partner: Partner, participant: tuple[str, str], qty: int = 500, price: int = 60) -> str:
    """An IOC buy that fills against the house: NEW then FILL executions, one trade."""
    pid, account = participant
    response = partner.post(
        "/v1/trading/orders",
        {
            "type": "ORDER_TYPE_LIMIT",
            "side": "SIDE_BUY",
            "orderQty": str(qty),
            "symbol": SYMBOL,
            "price": str(price),
            "timeInForce": "TIME_IN_FORCE_IMMEDIATE_OR_CANCEL",
            "account": account,
        },
        pid=pid,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["orderId"])


def rest_executions(partner: Partner, pid: str) -> list[dict]:
    body = partner.post("/v1/report/executions/search", {}, pid=pid).json()
    return list(body["executions"])


def open_streams(partner: Partner, count: int) -> None:
    """Wait (at most 10 s) until the sandbox counts `count` open streams: a cancel reaches the
    server after the client has moved on."""
    deadline = time.monotonic() + 10
    while len(partner.admin("GET", "/streams").json()["streams"]) != count:
        assert time.monotonic() < deadline, "the streams did not close"
        time.sleep(0.02)


def drain(reader: Reader, field: str) -> tuple[list, bytes]:
    """Every event up to the first empty batch (caught up), and that heartbeat's token."""
    events: list = []
    for message in reader.messages(lambda m: not getattr(m, field)):
        events.extend(getattr(message, field))
        token = message.resume_token
    return events, token


def test_replay_by_time_then_live_without_gap_or_reorder(partner, client, participant) -> None:
    pid, _ = participant
    for _ in range(3):
        buy(partner, participant)
    reader = client.open(
        client.dropcopy.CreateDropCopySubscription, DropCopyRequest(resume_time=EPOCH)
    )
    replayed, _ = drain(reader, "executions")
    assert [e.id for e in replayed] == [e["id"] for e in rest_executions(partner, pid)]
    assert len(replayed) == 6  # NEW and FILL of each order, the firm's side only
    buy(partner, participant)
    buy(partner, participant)
    live: list = []
    for message in reader.messages(lambda m: len(live) >= 4):
        live.extend(message.executions)
    everything = rest_executions(partner, pid)
    assert [e.id for e in replayed + live] == [e["id"] for e in everything]
    fill = live[-1]
    assert fill.type == report_pb2.EXECUTION_TYPE_FILL
    assert fill.order.state == order_pb2.ORDER_STATE_FILLED
    assert fill.last_shares == 500
    assert fill.aggressor is True
    assert fill.trade_id == everything[-1]["tradeId"]
    reader.cancel()


def test_resume_by_token_gives_exactly_what_followed(partner, client, participant) -> None:
    pid, _ = participant
    buy(partner, participant)
    first = client.open(
        client.dropcopy.CreateDropCopySubscription, DropCopyRequest(resume_time=EPOCH)
    )
    before, token = drain(first, "executions")
    first.cancel()
    later = buy(partner, participant)
    resumed = client.open(
        client.dropcopy.CreateDropCopySubscription, DropCopyRequest(resume_token=token)
    )
    after, _ = drain(resumed, "executions")
    resumed.cancel()
    assert [e.order.id for e in after] == [later, later]
    assert [e.id for e in before + after] == [e["id"] for e in rest_executions(partner, pid)]


def test_resume_by_time_gives_exactly_the_events_from_it(partner, client, participant) -> None:
    pid, _ = participant
    buy(partner, participant)
    buy(partner, participant)
    everything = rest_executions(partner, pid)
    moment = everything[2]["transactTime"]
    resume_time = Timestamp()
    resume_time.FromJsonString(moment)
    reader = client.open(
        client.dropcopy.CreateDropCopySubscription, DropCopyRequest(resume_time=resume_time)
    )
    events, _ = drain(reader, "executions")
    reader.cancel()
    assert [e.id for e in events] == [e["id"] for e in everything if e["transactTime"] >= moment]


def test_live_only_starts_with_a_heartbeat_and_symbols_filter(partner, client, participant):
    reader = client.open(
        client.dropcopy.CreateDropCopySubscription,
        DropCopyRequest(symbols=["cpc-btc-above-day-2026-09-21-74000"]),
    )
    greeting = reader.next()
    assert list(greeting.executions) == []
    assert greeting.resume_token
    buy(partner, participant)  # another symbol: passed over, heartbeats only
    other, _ = drain(reader, "executions")
    reader.cancel()
    assert other == []


def test_busted_trade_is_sent_again_with_its_new_state(partner, client, participant) -> None:
    buy(partner, participant)
    reader = client.open(
        client.dropcopy.CreateTradeCaptureReportSubscription, TradesRequest(resume_time=EPOCH)
    )
    trades, _ = drain(reader, "trade_capture_reports")
    assert [t.state for t in trades] == [report_pb2.TRADE_STATE_CLEARED]
    trade = trades[0]
    assert trade.aggressor.order.account == participant[1]
    assert partner.admin("POST", f"/trades/{trade.id}/bust").status_code == 200
    busted = next(
        t for m in reader.messages(lambda m: m.trade_capture_reports)
        for t in m.trade_capture_reports
    )  # fmt: skip
    reader.cancel()
    assert (busted.id, busted.state) == (trade.id, report_pb2.TRADE_STATE_BUSTED)
    assert busted.aggressor.id == trade.aggressor.id


def test_position_changes(partner, client, participant) -> None:
    pid, account = participant
    buy(partner, participant)
    reader = client.open(
        client.dropcopy.CreatePositionChangeSubscription,
        dropcopy_pb2.CreatePositionChangeSubscriptionRequest(resume_time=EPOCH),
    )
    changes, _ = drain(reader, "position_changes")
    reader.cancel()
    rest = partner.get("/v1/positions", pid=pid, name=account).json()["positions"][0]
    assert [(c.position.account, c.position.net_position) for c in changes] == [(account, 500)]
    position = changes[0].position
    assert (position.cost, position.qty_bought) == (int(rest["cost"]), int(rest["qtyBought"]))
    assert changes[0].change_time == position.update_time


def test_instrument_states_snapshot_then_changes(partner, client) -> None:
    reader = client.open(
        client.dropcopy.CreateInstrumentStateChangeSubscription,
        dropcopy_pb2.CreateInstrumentStateChangeSubscriptionRequest(),
    )
    listed = partner.post("/v1/refdata/instruments", {}).json()["instruments"]
    snapshot, _ = drain(reader, "instruments")
    assert sorted(i.symbol for i in snapshot) == sorted(i["symbol"] for i in listed)
    symbol = "tec-nfl-sbw-2026-02-08-kc"
    settled = partner.admin("POST", f"/instruments/{symbol}/settle", {"settlementPx": 100})
    assert settled.status_code == 200
    change = next(reader.messages(lambda m: m.instruments)).instruments
    reader.cancel()
    assert [(i.symbol, i.state) for i in change] == [(symbol, refdata_pb2.INSTRUMENT_STATE_EXPIRED)]


def test_balance_ledger_per_account(partner, client, participant, server) -> None:
    pid, account = participant
    buy(partner, participant)
    request = funding_pb2.CreateBalanceLedgerSubscriptionRequest
    reader = client.open(
        client.funding.CreateBalanceLedgerSubscription,
        request(account=account, resume_time=EPOCH),
    )
    entries = []
    for message in reader.messages(lambda m: not m.entries):
        entries.extend(message.entries)
    reader.cancel()
    rest = partner.get("/v1/funding/balance-ledger", pid=pid, account=account).json()["entries"]
    assert [(e.id, e.after_balance) for e in entries] == [
        (e["id"], e["afterBalance"]) for e in rest
    ]
    other = register_partner(server.url)
    _, foreign = other.onboard()
    refused = client.open(client.funding.CreateBalanceLedgerSubscription, request(account=foreign))
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED
    suppressed = client.open(
        client.funding.CreateBalanceLedgerSubscription,
        request(account=account, entry_types=[funding_pb2.LEDGER_ENTRY_TYPE_BALANCE_NETTING]),
    )
    assert suppressed.code() == grpc.StatusCode.ABORTED
    unknown = client.open(
        client.funding.CreateBalanceLedgerSubscription,
        request(account=account, entry_types=[funding_pb2.LedgerEntryType.ValueType(99)]),
    )
    assert unknown.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert unknown.error.details() == "entry_types: unknown type 99"


def test_funding_transactions(partner, client) -> None:
    _, account = partner.onboard()
    request = funding_pb2.CreateFundingTransactionSubscriptionRequest(resume_time=EPOCH)
    off = client.open(client.funding.CreateFundingTransactionSubscription, request)
    partner.deposit(account, "25.00")
    heartbeat = off.next()
    off.cancel()
    assert list(heartbeat.changes) == []
    assert heartbeat.server_time.seconds > 0
    assert partner.admin("PATCH", "/config", {"fundingStreamTransfers": True}).status_code == 200
    on = client.open(client.funding.CreateFundingTransactionSubscription, request)
    changes = next(on.messages(lambda m: m.changes)).changes
    on.cancel()
    states = [(c.previous_state, c.transaction.transaction_state) for c in changes]
    assert states == [
        (funding_pb2.TRANSACTION_STATE_PENDING, funding_pb2.TRANSACTION_STATE_PENDING),
        (funding_pb2.TRANSACTION_STATE_PENDING, funding_pb2.TRANSACTION_STATE_COMPLETED),
    ]
    done = changes[1].transaction
    assert (done.account_id, done.amount, done.after_balance) == (account, "25.00", "25.00")
    assert done.transaction_type == funding_pb2.TRANSACTION_TYPE_DEPOSIT


def test_order_subscription_snapshot_then_updates(partner, client, participant) -> None:
    pid, account = participant
    resting = partner.post(
        "/v1/trading/orders",
        {
            "side": "SIDE_BUY",
            "orderQty": "100",
            "symbol": SYMBOL,
            "price": "40",
            "timeInForce": "TIME_IN_FORCE_GOOD_TILL_CANCEL",
            "account": account,
        },
        pid=pid,
    ).json()["orderId"]
    reader = client.open(
        client.orders.CreateOrderSubscription, order_entry_pb2.CreateOrderSubscriptionRequest()
    )
    first = reader.next()
    assert [o.id for o in first.snapshot.orders] == [resting]
    assert first.session_id.startswith("session_")
    assert partner.post("/v1/trading/orders/cancel", {"orderId": resting}, pid=pid).json() == {}
    update = next(reader.messages(lambda m: m.WhichOneof("event") == "update")).update
    reader.cancel()
    assert [(e.order.id, e.type) for e in update.executions] == [
        (resting, report_pb2.EXECUTION_TYPE_CANCELED)
    ]


def test_order_snapshot_only_ends_the_stream(partner, client, participant) -> None:
    reader = client.open(
        client.orders.CreateOrderSubscription,
        order_entry_pb2.CreateOrderSubscriptionRequest(snapshot_only=True),
    )
    assert list(reader.next().snapshot.orders) == []
    assert reader.next() is None
    assert reader.error is None


def test_instrument_states_resume_by_token(partner, client) -> None:
    request = dropcopy_pb2.CreateInstrumentStateChangeSubscriptionRequest
    call = client.dropcopy.CreateInstrumentStateChangeSubscription
    first = client.open(call, request())
    _, token = drain(first, "instruments")
    first.cancel()
    symbol = "atc-mls-atl-clt-2026-03-22-draw"
    assert partner.admin("POST", f"/instruments/{symbol}/settle", {"settlementPx": 0}).ok
    resumed = client.open(call, request(resume_token=token))
    changes, _ = drain(resumed, "instruments")
    resumed.cancel()
    assert [(i.symbol, i.state) for i in changes] == [
        (symbol, refdata_pb2.INSTRUMENT_STATE_EXPIRED)
    ]


# ---- refusals ----


def test_authentication_and_scope(partner, client, server) -> None:
    call = client.dropcopy.CreateDropCopySubscription
    anonymous = Reader(call(DropCopyRequest()))
    assert anonymous.code() == grpc.StatusCode.UNAUTHENTICATED
    forged = client.open(call, DropCopyRequest(), metadata=client.metadata("not-a-token"))
    assert forged.code() == grpc.StatusCode.UNAUTHENTICATED
    narrow = register_partner(server.url, scopes=["read:orders"])
    denied = client.open(call, DropCopyRequest(), metadata=client.metadata(narrow.token))
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    assert denied.error.details() == "permission denied: missing required scope read:dropcopy"
    other_firm = client.open(call, DropCopyRequest(firms=["SomeoneElse"]))
    assert other_firm.code() == grpc.StatusCode.PERMISSION_DENIED
    own = client.open(call, DropCopyRequest(firms=[f"ISV-{partner.firm_id}"]))
    assert own.next().resume_token
    own.cancel()
    open_streams(partner, 0)  # the refused ones never counted


def test_the_21st_stream_is_refused(partner, client) -> None:
    call = client.dropcopy.CreateDropCopySubscription
    readers = [client.open(call, DropCopyRequest()) for _ in range(20)]
    for reader in readers:
        assert reader.next().resume_token  # each is open on the server
    extra = client.open(call, DropCopyRequest())
    assert extra.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert len(partner.admin("GET", "/streams").json()["streams"]) == 20
    readers.pop().cancel()
    open_streams(partner, 19)
    again = client.open(call, DropCopyRequest())
    assert again.next().resume_token
    for reader in [*readers, again]:
        reader.cancel()


def test_bad_and_expired_tokens_are_refused(partner, client, participant) -> None:
    call = client.dropcopy.CreateDropCopySubscription
    reader = client.open(call, DropCopyRequest())
    token = reader.next().resume_token
    reader.cancel()
    both = client.open(call, DropCopyRequest(resume_token=token, resume_time=EPOCH))
    assert both.code() == grpc.StatusCode.INVALID_ARGUMENT
    tampered = client.open(call, DropCopyRequest(resume_token=token[:-1] + b"\x00"))
    assert tampered.code() == grpc.StatusCode.INVALID_ARGUMENT
    trades = client.open(client.dropcopy.CreateTradeCaptureReportSubscription, TradesRequest())
    trade_token = trades.next().resume_token
    trades.cancel()
    foreign = client.open(call, DropCopyRequest(resume_token=trade_token))
    assert foreign.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert partner.admin("POST", "/streams/expire-tokens").status_code == 200
    expired = client.open(call, DropCopyRequest(resume_token=token))
    assert expired.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "Report API" in expired.error.details()
    # The documented fallback: resume by time (after reconciling through the reports).
    by_time = client.open(call, DropCopyRequest(resume_time=EPOCH))
    assert by_time.next() is not None
    by_time.cancel()


def test_tokens_expire_with_age(sandbox_factory) -> None:
    # Every token is too old as soon as it is issued (the default is 7 days, as executions).
    server = sandbox_factory(grpc_port=0, stream_heartbeat=0.05, resume_token_ttl=0.0)
    partner = register_partner(server.url)
    client = Streams(server.sandbox.settings.grpc_port, partner.token)
    call = client.dropcopy.CreateDropCopySubscription
    reader = client.open(call, DropCopyRequest())
    token = reader.next().resume_token
    reader.cancel()
    old = client.open(call, DropCopyRequest(resume_token=token))
    assert old.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert old.error is not None
    assert "expired" in str(old.error.details())
    client.close()


def test_streams_over_tls(sandbox_factory, tmp_path) -> None:
    cert, key = self_signed(tmp_path / "tls")
    server = sandbox_factory(grpc_port=0, stream_heartbeat=0.05, tls_cert=cert, tls_key=key)
    session = requests.Session()
    session.verify = str(cert)
    session.trust_env = False  # else a CA bundle named in the environment overrides `verify`
    key_pair = new_key()
    body = {"firmId": "TlsFirm", "clientId": "tls-client", "publicKeys": [public_pem(key_pair)]}
    assert session.post(f"{server.url}/_sandbox/firms", json=body, timeout=10).ok
    partner = Partner(server.url, "TlsFirm", "tls-client", key_pair, session=session)
    trusted = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
    target = f"127.0.0.1:{server.sandbox.settings.grpc_port}"
    with grpc.secure_channel(target, trusted) as channel:
        stub = dropcopy_pb2_grpc.DropCopyAPIStub(channel)
        call = stub.CreateDropCopySubscription(
            DropCopyRequest(), metadata=(("authorization", f"Bearer {partner.token}"),)
        )
        assert next(call).resume_token
        call.cancel()
    plain = Streams(server.sandbox.settings.grpc_port, partner.token)
    refused = plain.open(plain.dropcopy.CreateDropCopySubscription, DropCopyRequest())
    assert refused.code() == grpc.StatusCode.UNAVAILABLE  # no TLS, no stream
    plain.close()


# ---- faults ----


def fault(partner: Partner, **rule: object) -> None:
    response = partner.admin("POST", "/faults", {"family": "streams", **rule})
    assert response.status_code == 200, response.text


def test_drop_every_open_stream(partner, client) -> None:
    call = client.dropcopy.CreateDropCopySubscription
    readers = [client.open(call, DropCopyRequest()) for _ in range(3)]
    for reader in readers:
        reader.next()
    assert partner.admin("POST", "/streams/drop").json() == {"dropped": 3}
    assert [r.code() for r in readers] == [grpc.StatusCode.UNAVAILABLE] * 3
    assert partner.admin("GET", "/streams").json()["streams"] == []


def test_refuse_new_streams(partner, client) -> None:
    fault(partner, kind="error", status=503, count=1)
    call = client.dropcopy.CreateDropCopySubscription
    assert client.open(call, DropCopyRequest()).code() == grpc.StatusCode.UNAVAILABLE
    reader = client.open(call, DropCopyRequest())  # the next attempt gets through
    assert reader.next().resume_token
    reader.cancel()


def test_duplicates_after_a_reconnect(partner, client, participant) -> None:
    call = client.dropcopy.CreateDropCopySubscription
    buy(partner, participant)
    reader = client.open(call, DropCopyRequest(resume_time=EPOCH))
    batches = list(reader.messages(lambda m: not m.executions))
    reader.cancel()
    last_batch = [e.id for e in batches[-2].executions]
    fault(partner, kind="duplicate", count=1)
    again = client.open(call, DropCopyRequest(resume_token=batches[-1].resume_token))
    resent, _ = drain(again, "executions")
    again.cancel()
    assert [e.id for e in resent] == last_batch
    clean = client.open(call, DropCopyRequest(resume_token=batches[-1].resume_token))
    assert drain(clean, "executions")[0] == []
    clean.cancel()


def test_delayed_events_still_arrive_in_order(partner, client, participant) -> None:
    pid, _ = participant
    fault(partner, kind="latency", latencyMs=20, count=1)
    buy(partner, participant)
    buy(partner, participant)  # two batches of two: the first is delayed
    reader = client.open(
        client.dropcopy.CreateDropCopySubscription, DropCopyRequest(resume_time=EPOCH)
    )
    events, _ = drain(reader, "executions")
    reader.cancel()
    assert [e.id for e in events] == [e["id"] for e in rest_executions(partner, pid)]
    assert partner.admin("GET", "/faults").json()["faults"] == []  # the delay was used
