"""Two call policies, chosen by who is waiting: a staff request fails fast; commands are patient."""

from __future__ import annotations

import threading

import pytest
from django.http import HttpResponse

from backoffice import context
from backoffice.gateway import errors
from backoffice.gateway.client import get_gateway
from backoffice.gateway.errors import Outcome
from backoffice.gateway.ratelimit import RateLimiter
from backoffice.middleware import RequestContextMiddleware
from tests.backoffice.gateway.fakes import Reply
from tests.backoffice.gateway.test_config import pem

WHOAMI = {"user": "firms/ISV-Participant-Acme/users/admin", "firm": "ISV-Participant-Acme"}


@pytest.fixture
def staff(gateway):
    return gateway.using(policy=gateway.settings.staff)


def test_a_staff_read_is_tried_once_and_never_sleeps(staff, fake, sleeps):
    fake.on("GET", "/v1/whoami", Reply(503, {"code": 14}), Reply(body=WHOAMI))

    with pytest.raises(errors.Unavailable) as caught:
        staff.whoami(actor=None)

    assert caught.value.outcome is Outcome.NOT_SENT
    assert len(fake.api_requests()) == 1
    assert sleeps == []


def test_a_job_read_is_retried_with_backoff(gateway, fake, sleeps):
    fake.on("GET", "/v1/whoami", Reply(503, {"code": 14}), Reply(body=WHOAMI))

    assert gateway.whoami(actor=None).firm == "ISV-Participant-Acme"
    assert len(fake.api_requests()) == 2
    assert len(sleeps) == 1


def test_a_staff_request_uses_the_short_read_timeout(staff, gateway, fake):
    fake.on("GET", "/v1/whoami", Reply(body=WHOAMI))

    staff.whoami(actor=None)
    gateway.whoami(actor=None)

    assert [r.timeout for r in fake.requests] == [(3.05, 10.0), (3.05, 10.0), (3.05, 35.0)]


def test_a_staff_request_still_renews_a_refused_token_once(staff, fake, sleeps):
    fake.on("GET", "/v1/whoami", Reply(body=WHOAMI))
    staff.whoami(actor=None)
    fake.revoke_all()

    assert staff.whoami(actor=None).firm == "ISV-Participant-Acme"
    assert fake.exchanges == 2
    assert sleeps == []


def test_a_staff_request_waits_for_a_rate_limit_slot_only_briefly(staff, fake, clock):
    sleeps: list[float] = []
    staff.limiter = RateLimiter(clock=clock, sleep=sleeps.append)
    fake.on("GET", "/v1/funding/balance-ledger", Reply(body={"entries": [], "eof": True}))

    def read():
        return list(
            staff.balance_ledger(participant_id="firms/F/users/u", account="a", actor=None).items()
        )

    for _ in range(5):  # the ledger family's burst
        read()
    clock.advance(1.0)  # half a token: the next slot is a second away
    read()
    with pytest.raises(errors.RateLimited) as caught:  # the one after is three seconds away
        read()

    assert sleeps == [pytest.approx(1.0)]
    assert caught.value.outcome is Outcome.NOT_SENT
    assert len(fake.api_requests()) == 6


def test_a_job_honours_a_long_retry_after_up_to_its_limit(make_gateway, fake, sleeps):
    gateway = make_gateway(job_max_wait=30.0)
    fake.on(
        "GET",
        "/v1/whoami",
        Reply(429, {"code": 8}, headers={"Retry-After": "20"}),
        Reply(429, {"code": 8}, headers={"Retry-After": "45"}),
    )

    with pytest.raises(errors.RateLimited):
        gateway.whoami(actor=None)

    assert sleeps == [20.0]
    assert len(fake.api_requests()) == 2


def test_a_staff_request_does_not_queue_behind_a_slow_token_renewal(make_gateway, fake):
    gateway = make_gateway(connect_timeout=0.05, staff_read_timeout=0.05)
    staff = gateway.using(policy=gateway.settings.staff)
    fake.on("GET", "/v1/whoami", Reply(body=WHOAMI))
    held = threading.Event()
    release = threading.Event()

    def renew_slowly() -> None:
        with gateway.tokens._renewing(gateway.settings.job):
            held.set()
            release.wait(5)

    renewer = threading.Thread(target=renew_slowly)
    renewer.start()
    held.wait(5)
    try:
        with pytest.raises(errors.TokenExchangeFailed) as caught:
            staff.whoami(actor=None)
    finally:
        release.set()
        renewer.join(5)

    assert caught.value.outcome is Outcome.NOT_SENT
    assert caught.value.error == "renewal_busy"
    assert fake.requests == []


@pytest.fixture
def configured(settings, tmp_path, signing_key):
    path = tmp_path / "current.pem"
    path.write_text(pem(signing_key))
    settings.POLYMARKET_ENVIRONMENT = "sandbox"
    settings.POLYMARKET_CLIENT_ID = "client-1"
    settings.POLYMARKET_PRIVATE_KEY_FILE = str(path)
    return settings


def test_who_is_waiting_picks_the_policy(configured):
    assert get_gateway().policy.name == "job"
    with context.command_context("kyc_sync"):
        assert get_gateway().policy.name == "job"
    with context.bound(context.RequestContext(request_id="r1", interactive=True)):
        staff = get_gateway()
    assert staff.policy.name == "staff"
    assert staff.tokens is get_gateway().tokens  # one token for the whole process


def test_a_web_request_is_interactive(rf):
    seen = []

    def view(request):
        seen.append(context.current())
        return HttpResponse("ok")

    RequestContextMiddleware(view)(rf.get("/onboarding/"))

    (current,) = seen
    assert current is not None
    assert current.interactive is True
