"""A check reads the exchange for its next page while it works on this one
(`CheckContext.prefetch`): the next read is under way before this page is done with, the pages
come in order with their own reads, a read's error comes in its turn, the reading thread's calls
are recorded with the run's context, and nothing is read from inside a transaction."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import transaction

from backoffice.context import command_context
from backoffice.gateway.client import Gateway
from backoffice.gateway.errors import GatewayCalledInTransaction
from backoffice.gateway.ratelimit import RateLimiter
from backoffice.gateway.recording import MemoryRecorder
from backoffice.reconciliation.checks import CheckContext
from tests.backoffice.gateway.fakes import FakeExchange, Reply, make_settings, new_key

CUTOFF = dt.datetime(2026, 11, 30, 21, 0, tzinfo=dt.UTC)


def context() -> CheckContext:
    return CheckContext(
        business_date=CUTOFF.date(),
        window_start=CUTOFF - dt.timedelta(days=1),
        window_end=CUTOFF,
        timing_grace=dt.timedelta(minutes=5),
        tolerance=Decimal("0.00"),
        accounts=frozenset(),
        page_size=1,
    )


@pytest.fixture
def recorder() -> MemoryRecorder:
    return MemoryRecorder()


@pytest.fixture
def gateway(recorder) -> Gateway:
    key = new_key()
    fake = FakeExchange([key])
    fake.on("POST", "/v1/positions/balance", Reply(body={"balance": "1.00"}))
    return Gateway(
        settings=make_settings([key]),
        transport=fake,
        limiter=RateLimiter(enabled=False),
        recorder=recorder,
    )


def balance(account: str, gateway: Gateway) -> Decimal:
    return gateway.balance(participant_id="firms/F/users/u", account=account, actor=None).balance


def test_the_next_page_is_read_while_this_one_is_worked_on(gateway):
    started = {item: threading.Event() for item in ("a", "b", "c")}

    def read(item: str, _: Gateway) -> str:
        started[item].set()
        return item.upper()

    seen = []
    for item, answer in context().prefetch(gateway, ["a", "b", "c"], read):
        if item != "c":  # the next page's read starts before this page's work ends
            following = chr(ord(item) + 1)
            assert started[following].wait(timeout=10), f"{following} was not read ahead"
        seen.append((item, answer))

    assert seen == [("a", "A"), ("b", "B"), ("c", "C")]


def test_the_reading_threads_calls_are_recorded_with_the_runs_context_by_its_turn(
    gateway, recorder
):
    with command_context("reconcile") as run:
        pages = context().prefetch(gateway, ["acct-1", "acct-2"], balance)
        item, answer = next(pages)
        assert (item, answer) == ("acct-1", Decimal("1.00"))
        balances = [a for a in recorder.attempts if a.operation == "balance"]
        assert balances, "acct-1's call is recorded once its page is handed over"
        assert {(a.context.origin, a.context.request_id) for a in balances} == {
            ("command:reconcile", run.request_id)
        }
        assert list(pages) == [("acct-2", Decimal("1.00"))]

    assert [a.operation for a in recorder.attempts if a.operation == "balance"] == ["balance"] * 2


def test_a_reads_error_comes_in_its_turn_after_the_pages_before_it(gateway, recorder):
    def read(item: str, gateway: Gateway) -> Decimal:
        if item == "acct-2":
            raise ValueError("a bug in the read")
        return balance(item, gateway)

    pages = context().prefetch(gateway, ["acct-1", "acct-2", "acct-3"], read)

    assert next(pages) == ("acct-1", Decimal("1.00"))
    with pytest.raises(ValueError, match="a bug in the read"):
        next(pages)


def test_stopping_early_waits_for_the_read_ahead_and_records_its_calls(gateway, recorder):
    reading: list[str] = []
    ahead = threading.Event()

    def read(item: str, gateway: Gateway) -> Decimal:
        reading.append(item)
        if item == "acct-2":
            ahead.set()
        return balance(item, gateway)

    pages = context().prefetch(gateway, ["acct-1", "acct-2", "acct-3"], read)
    assert next(pages) == ("acct-1", Decimal("1.00"))
    assert ahead.wait(timeout=10)  # acct-2 is being read ahead...
    pages.close()

    # ...and stopping waited for it, and recorded its call; acct-3 was never read.
    assert reading == ["acct-1", "acct-2"]
    assert len([a for a in recorder.attempts if a.operation == "balance"]) == 2


@pytest.mark.django_db
def test_nothing_is_read_from_inside_a_transaction(gateway):
    read: Callable[[str, Gateway], Decimal] = balance

    with transaction.atomic(), pytest.raises(GatewayCalledInTransaction):
        next(context().prefetch(gateway, ["acct-1"], read))
