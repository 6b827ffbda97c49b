"""The client-side limiter keeps each endpoint family under its documented rate."""

from __future__ import annotations

import threading

import pytest
from cryptography.hazmat.primitives import serialization
from django.db import connection

from backoffice.gateway.client import process_gateway
from backoffice.gateway.errors import Outcome, RateLimited
from backoffice.gateway.models import RateLimitSlot
from backoffice.gateway.ratelimit import LIMITS, RateLimiter, SharedRateLimiter
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
        "download": (5 / 60, 1),
        "settlement": (10, 1),
        "transfers": (4, 1),
        "cancel": (90, 90),
    }


# --- shared by every process, through the database ---------------------------------------------


def shared(clock, *, scope="firm-a", sleep=None):
    return SharedRateLimiter(scope=scope, clock=clock, sleep=Sleeps() if sleep is None else sleep)


def test_processes_pace_against_one_schedule_of_transfers(db):
    """Two limiters stand for two processes (a web worker and funding_resume): together they get
    one slot every quarter of a second, however the calls are spread between them."""
    clock = FakeClock()
    web, job = shared(clock), shared(clock)

    waits = [limiter.acquire("transfers", max_wait=60) for limiter in (web, job, web, job, job)]

    assert waits == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_a_quiet_spell_gives_back_the_burst_and_no_more(db):
    clock = FakeClock()
    one, other = shared(clock), shared(clock)

    assert [one.acquire("ledger", max_wait=60) for _ in range(3)] == [0, 0, 0]
    assert [other.acquire("ledger", max_wait=60) for _ in range(3)] == [0, 0, 2.0]
    clock.advance(60)
    assert [other.acquire("ledger", max_wait=60) for _ in range(6)] == [0, 0, 0, 0, 0, 2.0]


def test_report_searches_are_twelve_a_minute_for_the_firm(db):
    clock = FakeClock()
    mirror, support = shared(clock), shared(clock)

    assert [
        mirror.acquire("report_search", max_wait=60),
        support.acquire("report_search", max_wait=60),
    ] == [0.0, 5.0]


def test_the_limiter_sleeps_the_wait_it_reserved(db):
    clock, sleeps = FakeClock(), Sleeps()
    limiter = shared(clock, sleep=sleeps)

    limiter.acquire("transfers", max_wait=60)
    limiter.acquire("transfers", max_wait=60)

    assert sleeps == [0.25]


def test_a_wait_beyond_the_budget_is_refused_and_takes_no_slot(db):
    clock = FakeClock()
    limiter = shared(clock)
    for _ in range(7):
        limiter.acquire("transfers", max_wait=60)  # the next slot is 1.75 s away

    with pytest.raises(RateLimited) as refused:
        limiter.acquire("transfers", max_wait=1.5)

    assert refused.value.outcome is Outcome.NOT_SENT
    assert refused.value.code == "client_rate_limited"
    assert refused.value.retry_after == pytest.approx(1.75)
    assert limiter.acquire("transfers", max_wait=60) == pytest.approx(1.75)


def test_each_firm_has_its_own_schedule(db):
    clock = FakeClock()

    assert shared(clock, scope="firm-a").acquire("transfers", max_wait=60) == 0
    assert shared(clock, scope="firm-b").acquire("transfers", max_wait=60) == 0
    assert RateLimitSlot.objects.count() == 2


def test_off_or_unlimited_writes_nothing(db):
    clock = FakeClock()
    off = SharedRateLimiter(scope="firm-a", enabled=False, clock=clock, sleep=Sleeps())

    assert [off.acquire("transfers", max_wait=0) for _ in range(10)] == [0.0] * 10
    assert shared(clock).acquire("whoami", max_wait=0) == 0.0
    assert shared(clock).acquire(None, max_wait=0) == 0.0
    assert not RateLimitSlot.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_callers_each_get_a_slot_of_their_own():
    """Threads with their own database connections, as processes would have: no two reserve the
    same slot."""
    clock = FakeClock()
    waits: list[float] = []
    lock = threading.Lock()

    def call() -> None:
        try:
            wait = shared(clock).acquire("transfers", max_wait=60)
            with lock:
                waits.append(wait)
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(waits) == [i * 0.25 for i in range(12)]


def test_the_process_gateway_paces_with_the_shared_limiter(settings, tmp_path, signing_key):
    key = tmp_path / "firm.pem"
    key.write_bytes(
        signing_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    settings.POLYMARKET_CLIENT_ID = "client-xyz"
    settings.POLYMARKET_PRIVATE_KEY_FILE = str(key)

    limiter = process_gateway().limiter

    assert isinstance(limiter, SharedRateLimiter)
    assert (limiter.scope, limiter.enabled) == ("client-xyz", True)
