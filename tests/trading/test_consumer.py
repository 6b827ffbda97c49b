"""The consumer against the sandbox's real streams over loopback: it mirrors what the exchange
reports, ignores what is delivered twice, reverses a bust, repairs a refused resume token from
the report downloads, and applies only while it holds the lease."""

from __future__ import annotations

import datetime as dt
import io
import threading
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from backoffice.gateway.client import process_gateway
from backoffice.gateway.streams import Batch, stream_client
from participants.models import Account
from tests.factories import ParticipantFactory
from tests.trading.conftest import SYMBOL
from tests.trading.state import mirror_state
from trading.consumer import Consumer
from trading.errors import LeaseLost
from trading.lease import lease_acquire
from trading.models import (
    Execution,
    FeedGap,
    Instrument,
    Order,
    Position,
    StreamCursor,
    StreamLease,
    Trade,
    TradingDay,
)

pytestmark = pytest.mark.django_db(transaction=True)


def exchange_execution_ids(exchange, pid: str) -> set[str]:
    body = exchange.partner.post("/v1/report/executions/search", {}, pid=pid).json()
    return {e["id"] for e in body["executions"]}


def test_the_mirror_follows_the_exchange(exchange, run_consumer):
    trader = exchange.trader()
    orders = [exchange.order(trader, qty=q) for q in (500, 300)]
    run_consumer()
    mirrored = set(Execution.objects.values_list("exchange_id", flat=True))
    assert mirrored == exchange_execution_ids(exchange, trader[0])
    assert set(Order.objects.values_list("exchange_id", "state")) == {
        (orders[0], "FILLED"),
        (orders[1], "FILLED"),
    }
    position = Position.objects.get(account=trader[1])
    assert (position.net_position, position.cost) == (Decimal(8), Decimal("4.40"))
    assert StreamCursor.objects.get(stream="executions").resume_token
    gap = FeedGap.objects.get()
    assert (gap.reason, gap.rows_repaired, gap.repaired_at is not None) == ("cold_start", 4, True)

    more = exchange.order(trader, qty=200)
    run_consumer()
    assert Order.objects.get(exchange_id=more).state == "FILLED"
    assert Execution.objects.count() == 6
    assert StreamCursor.objects.get(stream="executions").events_applied == 2
    assert FeedGap.objects.count() == 1  # resumed by token: no gap


def test_a_repeated_batch_changes_nothing(exchange, run_consumer):
    trader = exchange.trader()
    exchange.order(trader)
    run_consumer()
    exchange.order(trader, qty=100)
    run_consumer()
    before = mirror_state()
    applied = StreamCursor.objects.get(stream="executions").events_applied
    exchange.admin("POST", "/faults", {"family": "streams", "kind": "duplicate", "count": 5})
    run_consumer()
    assert mirror_state() == before
    assert StreamCursor.objects.get(stream="executions").events_applied == applied


def test_a_busted_trade_reverses_its_effects(exchange, run_consumer):
    trader = exchange.trader()
    exchange.order(trader, qty=500)
    exchange.order(trader, qty=300)
    run_consumer()
    first = Trade.objects.get(qty=Decimal(5))
    exchange.admin("POST", f"/trades/{first.exchange_id}/bust")
    run_consumer()
    first.refresh_from_db()
    assert first.state == "BUSTED"
    assert list(Execution.objects.filter(busted=True).values_list("trade_id", flat=True)) == [
        first.exchange_id
    ]
    day = TradingDay.objects.get()
    assert (day.fills, day.filled_contracts, day.busted_fills) == (1, Decimal(3), 1)
    position = Position.objects.get(account=trader[1])
    assert (position.net_position, position.qty_bought) == (Decimal(3), Decimal(3))


def test_an_expired_resume_token_is_a_gap_the_downloads_close_exactly(exchange, run_consumer):
    trader = exchange.trader()
    exchange.order(trader)
    run_consumer()
    missed = [exchange.order(trader, qty=q) for q in (100, 200, 300)]
    exchange.admin("POST", "/streams/expire-tokens")
    run_consumer()
    gap = FeedGap.objects.get(stream="executions", reason="token_refused")
    assert (gap.rows_repaired, gap.method) == (6, "orders and executions downloads")
    assert gap.repaired_at is not None
    assert set(Execution.objects.values_list("exchange_id", flat=True)) == (
        exchange_execution_ids(exchange, trader[0])
    )
    assert set(Order.objects.filter(exchange_id__in=missed).values_list("state", flat=True)) == {
        "FILLED"
    }
    assert StreamCursor.objects.get(stream="executions").events_applied == 0
    other = FeedGap.objects.filter(reason="token_refused").exclude(stream="executions")
    assert {g.method for g in other} == {"resumed by time"}


def test_only_the_lease_holder_applies(exchange, run_consumer):
    exchange.order(exchange.trader())
    assert lease_acquire(environment="sandbox", holder="first")
    standby = Consumer(
        environment="sandbox",
        holder="second",
        gateway=process_gateway(),
        client=stream_client(),
        once=True,
    )
    stop = threading.Event()
    waiting = threading.Thread(target=standby.run, kwargs={"stop": stop})
    waiting.start()
    waiting.join(timeout=2.5)
    assert waiting.is_alive()  # standing by
    assert Execution.objects.count() == 0
    with pytest.raises(LeaseLost):
        standby.commit("executions", Batch(b"token", []))
    assert StreamCursor.objects.filter(resume_token=b"token").count() == 0

    # The holder stops renewing (it died): the standby takes over once the lease lapses.
    StreamLease.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    waiting.join(timeout=30)
    assert not waiting.is_alive()
    assert Execution.objects.count() == 2
    assert StreamLease.objects.get().holder == "second"


def test_a_settled_market_gets_its_settlement_price_and_positions_their_value(
    exchange, run_consumer, persona
):
    trader = exchange.trader()
    exchange.order(trader, qty=500)  # 5 YES contracts at $0.55
    run_consumer()
    exchange.admin("POST", f"/instruments/{SYMBOL}/settle", {"settlementPx": "100"})
    run_consumer()
    instrument = Instrument.objects.get(symbol=SYMBOL)
    assert (instrument.state, instrument.settlement_price) in {
        ("EXPIRED", Decimal(1)),
        ("TERMINATED", Decimal(1)),
    }
    Account.objects.create(
        participant=ParticipantFactory.create(participant_id=trader[0]), account_id=trader[1]
    )
    person = Account.objects.get(account_id=trader[1]).participant
    html = persona("support").get(f"/onboarding/participants/{person.pk}/").content.decode()
    # The exchange resolved the position: 5 contracts paid $1 each, bought at $0.55.
    assert "<td>0</td><td>$0</td><td>$2.25</td><td>settled at $1 (paid out" in html


def test_instruments_sync_reads_reference_data(exchange):
    call_command("instruments_sync", stdout=io.StringIO())
    instrument = Instrument.objects.get(symbol=SYMBOL)
    assert (instrument.price_scale, instrument.qty_scale, instrument.tick_size) == (
        100,
        100,
        Decimal("0.01"),
    )
    assert Instrument.objects.count() >= 4
