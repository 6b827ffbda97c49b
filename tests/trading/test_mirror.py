"""Applying batches: at-least-once delivery and reordering change nothing; a bust reverses its
fills once, whichever stream reports first."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from polymarket.v1 import report_pb2
from tests.trading.messages import fill_pair, trade
from tests.trading.state import mirror_state
from trading import mirror
from trading.bulk import is_postgresql
from trading.models import Execution, Order, Trade, TradingDay

pytestmark = pytest.mark.django_db
CLEARED = report_pb2.TRADE_STATE_CLEARED
BUSTED = report_pb2.TRADE_STATE_BUSTED


def history():
    executions = []
    for n in range(6):
        executions += fill_pair(f"O{n}", f"T{n}", 100 * (n + 1), seconds=n)
    return executions


def day() -> tuple:
    row = TradingDay.objects.get()
    return (row.executions, row.fills, row.filled_contracts, row.filled_notional, row.busted_fills)


def test_a_batch_is_a_fixed_number_of_statements_whatever_its_size():
    # Executions, orders, day counters; on PostgreSQL the rows of the first two are COPYed into
    # staging tables (made if missing) first.
    expected = 7 if is_postgresql() else 3
    for size in (2, 12):
        with CaptureQueriesContext(connection) as queries:
            mirror.apply_executions(history()[:size])
        assert len(queries) == expected
        Execution.objects.all().delete()


def test_every_value_is_stored_exactly_as_converted():
    """Whatever carries the rows to the database (COPY on PostgreSQL, JSON on SQLite): text
    with the characters either format escapes, times in another offset, absent values."""
    new, fill = fill_pair("O7", "T7", 250, seconds=3)
    away = dt.timezone(dt.timedelta(hours=-5))
    moment = dt.datetime(2026, 11, 30, 23, 30, 1, 123456, tzinfo=away)  # 04:30 UTC next day
    text = 'tab\there\nnew line \\N back\\slash "quoted" \u00e9\u20ac'
    odd = dataclasses.replace(fill, text=text, transact_time=moment, last_px=None)
    odd = dataclasses.replace(odd, commission=Decimal("-0.0004"))
    assert mirror.apply_executions([new, odd]) == mirror.Applied(2, moment)

    row = Execution.objects.get(exchange_id="O7-f")
    assert (row.text, row.transact_time, row.last_px, row.commission) == (
        text,
        moment,
        None,
        Decimal("-0.0004"),
    )
    assert row.trade_date == dt.date(2026, 12, 1)  # the UTC day of its time
    assert (row.last_shares, row.cum_qty, row.leaves_qty) == (Decimal("2.5"), Decimal("2.5"), 0)
    order = Order.objects.get(exchange_id="O7")
    assert (order.state, order.last_transact_time, order.avg_px) == (
        "FILLED",
        fill.transact_time,
        Decimal("0.45"),
    )


def test_a_rolled_back_batch_leaves_nothing_and_batches_sharing_a_transaction_apply_alone():
    executions = history()
    with transaction.atomic():
        mirror.apply_executions(executions[8:10])  # the first: its staging goes with it
        transaction.set_rollback(True)  # the batch fails after its statements
    assert not Execution.objects.exists()
    with transaction.atomic():
        mirror.apply_executions(executions[:4])
        mirror.apply_executions(executions[4:8])  # reads only its own rows
        assert Execution.objects.count() == 8
    mirror.apply_executions(executions[8:])
    assert sorted(Execution.objects.values_list("exchange_id", flat=True)) == sorted(
        e.id for e in executions
    )
    assert day() == (12, 6, Decimal("21"), Decimal("9.45"), 0)


def test_duplicates_and_reorders_change_nothing():
    executions = history()
    mirror.apply_executions(executions)
    once = mirror_state()
    assert day() == (12, 6, Decimal("21"), Decimal("9.45"), 0)

    shuffled = executions * 3
    random.Random(7).shuffle(shuffled)
    for start in range(0, len(shuffled), 5):
        mirror.apply_executions(shuffled[start : start + 5])
    assert mirror_state() == once
    assert Order.objects.get(exchange_id="O3").state == "FILLED"


def test_an_older_snapshot_never_replaces_a_newer_one():
    new, fill = fill_pair("O9", "T9", 300, seconds=4)
    mirror.apply_executions([fill])
    mirror.apply_executions([new])
    order = Order.objects.get(exchange_id="O9")
    assert (order.state, order.cum_qty, order.leaves_qty) == ("FILLED", Decimal(3), Decimal(0))


def test_a_bust_reverses_its_fills_once():
    executions = history()
    mirror.apply_executions(executions)
    fill = executions[3]
    assert fill.trade_id == "T1"
    mirror.apply_trades([trade("T1", fill, CLEARED)])
    mirror.apply_trades([trade("T1", fill, BUSTED)])
    assert Trade.objects.get(exchange_id="T1").state == "BUSTED"
    assert list(Execution.objects.filter(busted=True).values_list("exchange_id", flat=True)) == [
        "O1-f"
    ]
    assert day() == (12, 5, Decimal("19"), Decimal("8.55"), 1)

    busted = mirror_state()
    mirror.apply_trades([trade("T1", fill, BUSTED), trade("T1", fill, CLEARED)])
    mirror.apply_executions(executions)
    assert mirror_state() == busted  # BUSTED is final; repeats reverse nothing twice


def test_a_bust_reported_before_its_fills_arrives_reversed():
    executions = history()
    mirror.apply_trades([trade("T2", executions[5], BUSTED)])
    mirror.apply_executions(executions)
    assert Execution.objects.get(exchange_id="O2-f").busted
    assert day() == (12, 5, Decimal("18"), Decimal("8.10"), 0)
