"""Funding test helpers: the staff who make and check requests, a provisioned participant, and a
fake exchange at the gateway seam that answers funding's calls from a script."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from backoffice.audit.models import AuditEvent
from backoffice.gateway.config import CallPolicy, GatewaySettings
from backoffice.gateway.results import AccountBalance, CashMovement, FundingAccountBalance
from tests.backoffice.gateway.fakes import make_settings
from tests.exchange import point_gateway_at
from tests.factories import AccountFactory, UserFactory
from tests.funding.live import LiveFunding, provision
from tests.sandbox import conftest as sandbox_fixtures
from tests.sandbox.partner import register_partner

ACCOUNT_ID = "firms/ISV-Acme/accounts/00000000000000000000000000000abc"
PARTICIPANT_ID = "firms/ISV-Participant-Acme/users/user-42"


@dataclass
class Staff:
    maker: Any
    checker: Any
    other_checker: Any
    supervisor: Any


@pytest.fixture
def staff(db) -> Staff:
    return Staff(
        maker=UserFactory.create(username="maker", roles=["treasury"]),
        checker=UserFactory.create(username="checker", roles=["treasury"]),
        other_checker=UserFactory.create(username="checker2", roles=["treasury"]),
        supervisor=UserFactory.create(username="boss", roles=["supervisor"]),
    )


@pytest.fixture
def account(db):
    return AccountFactory.create(
        account_id=ACCOUNT_ID,
        participant__external_id="user-42",
        participant__participant_id=PARTICIPANT_ID,
    )


def balance(
    cash: str, open_orders: str = "0.00", buying_power: str | None = None
) -> AccountBalance:
    zero = Decimal("0.00")
    free = Decimal(cash) - Decimal(open_orders)
    return AccountBalance(
        currency="USD",
        balance=Decimal(cash),
        buying_power=Decimal(buying_power) if buying_power is not None else free,
        capital_requirement=zero,
        excess_capital=zero,
        margin_requirement=zero,
        unsettled_funds=zero,
        open_orders=Decimal(open_orders),
        total_security_notional_value=zero,
        total_security_available_value=zero,
        alternate_capital_requirement_currency="",
        alternate_capital_requirement=zero,
        securities={},
        update_time=None,
    )


def movement(
    status: str = "CONFIRMED",
    *,
    key: str = "",
    amount: str = "100.00",
    reason: str = "DEPOSIT",
    workflow_id: str = "wf-1",
    rejection_reason: str = "",
) -> CashMovement:
    return CashMovement(
        workflow_id=workflow_id,
        idempotency_key=key,
        intent_type="transfer",
        status=f"CASH_MOVEMENT_STATUS_{status}",
        reason=f"TRANSFER_REASON_{reason}",
        amount=Decimal(amount),
        currency="USD",
        source_account_id="",
        destination_account_id="",
        dco_transfer_id="dco_1" if status == "CONFIRMED" else "",
        rejection_reason=rejection_reason,
        created_at=None,
        updated_at=None,
    )


@dataclass
class FakeFundingExchange:
    """Stands in for the gateway client: answers funding's calls from scripts (an exception in
    a script is raised) and remembers every call."""

    balances: list[Any] = field(default_factory=list)
    creates: list[Any] = field(default_factory=list)
    reads: list[Any] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # The call policy the real client would bound a send's deadline by.
    settings: GatewaySettings = field(default_factory=lambda: make_settings([]))

    @property
    def policy(self) -> CallPolicy:
        return self.settings.job

    def _answer(self, script: list[Any], name: str, kwargs: dict[str, Any]) -> Any:
        self.calls.append((name, kwargs))
        if not script:
            raise AssertionError(f"the fake exchange was not expecting {name}")
        answer = script.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def balance(self, **kwargs: Any) -> AccountBalance:
        return self._answer(self.balances, "balance", kwargs)

    def create_cash_movement(self, **kwargs: Any) -> CashMovement:
        return self._answer(self.creates, "create_cash_movement", kwargs)

    def get_cash_movement(self, **kwargs: Any) -> CashMovement:
        return self._answer(self.reads, "get_cash_movement", kwargs)

    def funding_account_balance(self, **kwargs: Any) -> FundingAccountBalance:
        return self._answer(self.reads, "funding_account_balance", kwargs)

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


@pytest.fixture
def exchange(monkeypatch) -> FakeFundingExchange:
    fake = FakeFundingExchange()
    monkeypatch.setattr("funding.exchange.get_gateway", lambda: fake)
    return fake


@pytest.fixture
def funding_actions(db):
    """The funding audit actions written so far, oldest first."""

    def actions() -> list[str]:
        return list(
            AuditEvent.objects.filter(action__startswith="funding.")
            .order_by("id")
            .values_list("action", flat=True)
        )

    return actions


# The sandbox's own fixture, shared with these tests.
sandbox_factory = sandbox_fixtures.sandbox_factory


@pytest.fixture
def live(db, sandbox_factory, settings, tmp_path) -> LiveFunding:
    """A firm on a fresh sandbox with one provisioned participant, the gateway signed in as the
    firm with short timeouts, and every transfer call counted as the sandbox receives it."""
    server = sandbox_factory()
    partner = register_partner(server.url, firm_id="Acme")
    point_gateway_at(settings, partner, tmp_path)
    settings.POLYMARKET_RATE_LIMITS = False
    settings.POLYMARKET_STAFF_READ_TIMEOUT_SECONDS = 1.0
    settings.POLYMARKET_READ_TIMEOUT_SECONDS = 1.0
    settings.POLYMARKET_MAX_ATTEMPTS = 1
    funding = LiveFunding(server=server, partner=partner, key_file=tmp_path / "firm.pem")
    provision(funding)
    funding.record_arrivals()
    return funding
