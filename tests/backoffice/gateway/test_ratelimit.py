"""The client-side limiter keeps each endpoint family under its documented rate."""

from __future__ import annotations

import pytest

from backoffice.gateway.errors import Outcome, RateLimited
from backoffice.gateway.ratelimit import LIMITS, RateLimiter
from tests.backoffice.gateway.fakes import FakeClock, Reply, Sleeps


class SleepingClock(FakeClock):
    def sleep(self, seconds):
        self.advance(seconds)


def test_ledgers_burst_five_then_pace_at_one_every_two_seconds():
    clock = SleepingClock()
    sleeps = Sleeps()

    def sleep(seconds):
        sleeps(seconds)
        clock.advance(seconds)

    limiter = RateLimiter(clock=clock, sleep=sleep)

    waits = [limiter.acquire("ledger", max_wait=60) for _ in range(8)]

    assert waits == [0, 0, 0, 0, 0, 2.0, 2.0, 2.0]


def test_report_searches_are_paced_at_twelve_a_minute():
    clock = SleepingClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)

    waits = [limiter.acquire("report_search", max_wait=60) for _ in range(3)]

    assert waits == [0, 5.0, 5.0]


def test_families_without_a_documented_limit_are_not_held_back():
    limiter = RateLimiter(clock=FakeClock(), sleep=Sleeps())

    assert [limiter.acquire(None, max_wait=0) for _ in range(100)] == [0.0] * 100
    assert [limiter.acquire("whoami", max_wait=0) for _ in range(100)] == [0.0] * 100


def test_a_wait_beyond_the_budget_is_refused_without_calling(make_gateway, fake, clock):
    gateway = make_gateway(job_max_wait=4.0)
    gateway.limiter = RateLimiter(clock=clock, sleep=Sleeps())
    fake.on("POST", "/v1/refdata/instruments", Reply(body={"instruments": [], "eof": True}))
    list(gateway.instruments(actor=None).items())

    with pytest.raises(RateLimited) as caught:
        list(gateway.instruments(actor=None).items())

    assert caught.value.code == "client_rate_limited"
    assert caught.value.outcome is Outcome.NOT_SENT
    assert caught.value.retry_after == pytest.approx(10.0)
    assert len(fake.api_requests()) == 1


def test_the_documented_limits():
    assert {name: (limit.rate, limit.burst) for name, limit in LIMITS.items()} == {
        "ledger": (0.5, 5),
        "report_search": (0.2, 1),
        "refdata": (0.1, 1),
        "settlement": (10, 1),
        "transfers": (4, 1),
        "cancel": (90, 90),
    }
