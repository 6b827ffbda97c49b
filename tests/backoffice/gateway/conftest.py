from __future__ import annotations

import pytest

from backoffice.gateway.auth import TokenManager
from backoffice.gateway.client import Gateway
from backoffice.gateway.ratelimit import RateLimiter
from backoffice.gateway.recording import MemoryRecorder
from tests.backoffice.gateway.fakes import FakeClock, FakeExchange, Sleeps, make_settings, new_key
from tests.sandbox.conftest import (  # noqa: F401  (the sandbox's fixtures, for test_sandbox.py)
    participant,
    partner,
    sandbox,
    sandbox_factory,
    webhook_receiver,
)


@pytest.fixture(scope="session")
def signing_key():
    return new_key()


@pytest.fixture(scope="session")
def other_key():
    return new_key()


@pytest.fixture
def fake(signing_key):
    return FakeExchange([signing_key])


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def sleeps():
    return Sleeps()


@pytest.fixture
def recorder():
    return MemoryRecorder()


@pytest.fixture
def make_gateway(fake, clock, sleeps, recorder, signing_key):
    """A gateway wired to the fake exchange, a fake clock and a sleep that only remembers."""

    def make(*, keys=None, transport=None, recorder_=None, **config):
        cfg = make_settings(keys or [signing_key], **config)
        transport = transport or fake
        return Gateway(
            settings=cfg,
            transport=transport,
            tokens=TokenManager(cfg, transport, clock=clock, sleep=sleeps),
            limiter=RateLimiter(enabled=False),
            recorder=recorder_ or recorder,
            sleep=sleeps,
        )

    return make


@pytest.fixture
def gateway(make_gateway):
    return make_gateway()
