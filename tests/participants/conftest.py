"""Onboarding test helpers: the firm, valid intake data, a fake exchange at the gateway seam, and
the sandbox exchange on loopback with the gateway pointed at it."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from django.utils import timezone

from backoffice.gateway import errors
from backoffice.gateway.inputs import KycApplication
from backoffice.gateway.results import DocumentCapture, KycEvaluation
from participants.models import KycSubmission
from tests.backoffice.gateway.fakes import make_settings, new_key
from tests.exchange import point_gateway_at
from tests.factories import FirmFactory
from tests.sandbox import conftest as sandbox_fixtures
from tests.sandbox.partner import Partner, register_partner


@pytest.fixture
def firm(db):
    return FirmFactory.create()


def intake_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "external_id": "user-123",
        "first_name": "Jane",
        "middle_name": "",
        "last_name": "Doe",
        "date_of_birth": "1985-10-02",
        "ssn": "123-45-6789",
        "email": "jane.doe@example.com",
        "phone_number": "+12125551234",
        "address_line_1": "1 Main Street",
        "address_line_2": "",
        "city": "New York",
        "state": "NY",
        "postal_code": "10001",
        "ip_address": "198.51.100.7",
        "session_token": "",
        "docv_eligible": "",
        "agreement_accepted": "on",
        "agreement_signed_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def status(
    decision: str = "ACCEPT",
    state: str = "ON_HOLD",
    *,
    external_id: str = "user-123",
    participant_id: str = "",
    account: str = "",
    docv_url: str = "",
) -> KycEvaluation:
    docv = (
        DocumentCapture(url=docv_url, qr_code="", transaction_token="dt_abc", event_id="evt_1")
        if docv_url
        else None
    )
    return KycEvaluation(
        decision=decision,
        status=state,
        sub_status="",
        external_id=external_id,
        participant_id=participant_id,
        provisioned_account=account,
        docv=docv,
    )


# The settings the fake gateway reports (its call policy bounds how long a send may be in flight).
FAKE_SETTINGS = make_settings([new_key()])


@dataclass
class FakeGateway:
    """Stands in for the gateway client: answers KYC calls from a script and remembers them."""

    settings = FAKE_SETTINGS
    policy = FAKE_SETTINGS.staff

    start_answers: list[Any] = field(default_factory=list)
    status_answers: list[Any] = field(default_factory=list)
    started: list[KycApplication] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)
    actors: list[Any] = field(default_factory=list)

    def kyc_start(self, *, application: KycApplication, actor: Any) -> KycEvaluation:
        self.started.append(application)
        self.actors.append(actor)
        return self._answer(self.start_answers, changes_state=True)

    def kyc_status(self, *, external_id: str, actor: Any) -> KycEvaluation:
        self.asked.append(external_id)
        return self._answer(self.status_answers, changes_state=False)

    @staticmethod
    def _answer(answers: list[Any], *, changes_state: bool) -> KycEvaluation:
        if not answers:
            raise AssertionError("the fake exchange was called more often than the test expected")
        answer = answers.pop(0)
        if isinstance(answer, errors.GatewayError):
            # As the gateway does: a failure's outcome depends on whether the call changes state.
            answer.outcome = answer.outcome_of_call(changes_state=changes_state)
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture
def exchange(monkeypatch) -> FakeGateway:
    fake = FakeGateway()
    monkeypatch.setattr("participants.exchange.get_gateway", lambda: fake)
    return fake


UNAVAILABLE = errors.Unavailable("upstream connect error", http_status=503, operation="kyc_start")


def today_minus(years: int, days: int = 0) -> str:
    today = timezone.localdate()
    return (today.replace(year=today.year - years) - dt.timedelta(days=days)).isoformat()


# The sandbox's own fixture, shared with these tests.
sandbox_factory = sandbox_fixtures.sandbox_factory


@pytest.fixture
def live_exchange(sandbox_factory, settings, tmp_path: Path) -> Partner:
    """A firm registered on a fresh sandbox; the gateway signs in as it."""
    server = sandbox_factory()
    partner = register_partner(server.url, firm_id="Acme")
    point_gateway_at(settings, partner, tmp_path)
    settings.POLYMARKET_RATE_LIMITS = False
    return partner


def sandbox_admin(partner: Partner, path: str, body: dict) -> dict:
    response = requests.post(f"{partner.base}/_sandbox/{path}", json=body, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def wait_for_status(
    partner: Partner, submission: KycSubmission, status: str, timeout: float = 15
) -> None:
    """Lets the sandbox's background work (provisioning, webhook delivery) run until `submission`
    reaches `status`. Bounded: a test never waits longer than `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        submission.refresh_from_db()
        if submission.status == status:
            return
        partner.tick()
        time.sleep(0.05)
    raise AssertionError(f"submission stayed {submission.status}, expected {status}")
