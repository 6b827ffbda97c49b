"""Crash safety on PostgreSQL, against the sandbox's real streams: the consumer, a separate
process, is killed with SIGKILL at random points of a replay (at least 20), restarted each time,
and the mirror ends identical to an uninterrupted run's. Then two consumers run at once and only
one of them applies."""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Sum

from tests.trading.state import mirror_state
from trading.models import (
    Execution,
    FeedGap,
    FeedMinute,
    Instrument,
    Order,
    Position,
    StreamCursor,
    StreamLease,
    Trade,
    TradingDay,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="kill points are tested on PostgreSQL, where production runs",
    ),
]
ROOT = Path(__file__).resolve().parents[2]
KILLS = 20
FROM_THE_START = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def consumer_env() -> dict[str, str]:
    db = connection.settings_dict
    return {
        **os.environ,
        "ENV_FILE": "tests/test.env",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "POLYMARKET_ENVIRONMENT": "sandbox",
        "POLYMARKET_SANDBOX_URL": settings.POLYMARKET_SANDBOX_URL,
        "POLYMARKET_CLIENT_ID": settings.POLYMARKET_CLIENT_ID,
        "POLYMARKET_PRIVATE_KEY_FILE": settings.POLYMARKET_PRIVATE_KEY_FILE,
        "POLYMARKET_GRPC_TARGET": settings.POLYMARKET_GRPC_TARGET,
        "POLYMARKET_RATE_LIMITS": "false",
        "TRADING_STREAM_LEASE_SECONDS": "1",
    }


def start(holder: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - our own command
        [sys.executable, "manage.py", "trading_stream", "--once", "--holder", holder],
        cwd=ROOT,
        env=consumer_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def finish(process: subprocess.Popen[bytes]) -> None:
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err.decode()[-2000:]


def fresh_mirror() -> None:
    """An empty mirror whose streams resume from long ago: the replay goes through the streams
    (not a cold start's downloads)."""
    for model in (Execution, Order, Trade, Position, TradingDay, Instrument, FeedGap, FeedMinute):
        model.objects.all().delete()
    StreamCursor.objects.all().delete()
    StreamLease.objects.all().delete()
    for stream in ("executions", "trades", "positions"):
        StreamCursor.objects.create(
            environment="sandbox", stream=stream, last_event_time=FROM_THE_START
        )


def applied() -> int:
    return StreamCursor.objects.aggregate(n=Sum("events_applied"))["n"] or 0


def trade_more(exchange, traders, count: int, start: int) -> None:
    for n in range(start, start + count):
        exchange.order(traders[n % 3], qty=100 + n)


def test_killed_at_random_points_the_mirror_ends_as_an_uninterrupted_run(exchange):
    traders = [exchange.trader() for _ in range(3)]
    trade_more(exchange, traders, 200, 0)
    busted = exchange.trades_of(traders[0][0])[0]["id"]
    exchange.admin("POST", f"/trades/{busted}/bust")
    # Slow batches (of 5): the replay spans seconds, so kills land inside it.
    exchange.admin(
        "POST",
        "/faults",
        {"family": "streams", "kind": "latency", "latencyMs": 25, "count": 100_000},
    )

    fresh_mirror()
    rng = random.Random(12)
    kills = placed = 0
    while kills < KILLS:
        process = start(f"killed-{kills}")
        before = applied()
        deadline = time.monotonic() + 60
        while applied() == before and process.poll() is None:
            assert time.monotonic() < deadline, "the consumer made no progress"
            time.sleep(0.01)
        if process.poll() is not None:
            # It caught up before this kill point: the exchange trades on, the replay goes on.
            finish(process)
            placed += 50
            trade_more(exchange, traders, 50, 200 + placed)
            continue
        time.sleep(rng.uniform(0, 0.08))
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += 1
        # A killed holder's lease lapses; the next instance waits for that, as a standby would.

    # Two consumers at once finish the replay: one applies, the other stands by.
    first, second = start("first"), start("second")
    finish(first)
    finish(second)
    assert StreamLease.objects.get().holder in {"first", "second"}
    killed = mirror_state()

    fresh_mirror()
    finish(start("uninterrupted"))
    expected = mirror_state()
    assert len(expected["executions"]) == 2 * (200 + placed)
    assert Trade.objects.get(exchange_id=busted).state == "BUSTED"
    assert killed == expected
