"""Funding against the sandbox exchange on loopback: a firm and a provisioned participant there,
the same participant here, and the exchange's own view of what it received, counted where it
happened (every CreateCashMovement and GetCashMovement that reached the sandbox, with the moment
it arrived, and the movements it holds)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import connection

from backoffice import context
from funding.models import FundingRequest
from sandbox.server import SandboxServer
from tests.factories import AccountFactory, FundingRequestFactory, UserFactory
from tests.sandbox.partner import Partner

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Arrival:
    method: str  # CreateCashMovement or GetCashMovement
    key: str  # the idempotency key (creates) or workflow id (reads)
    at: float  # time.monotonic() when it reached the sandbox


@dataclass
class LiveFunding:
    server: SandboxServer
    partner: Partner
    key_file: Path
    account: Any = None
    arrivals: list[Arrival] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record_arrivals(self) -> None:
        """Count each transfer call as the sandbox receives it, before any fault it injects."""
        dispatch = self.server.sandbox.dispatch

        def counted(request: Any) -> Any:
            method = request.path.rsplit("/", 1)[-1]
            if method in ("CreateCashMovement", "GetCashMovement"):
                body = json.loads(request.get_data() or b"{}")
                key = body.get("idempotencyKey") or body.get("workflowId") or ""
                with self._lock:
                    self.arrivals.append(Arrival(method, key, time.monotonic()))
            return dispatch(request)

        self.server.sandbox.dispatch = counted  # type: ignore[method-assign]

    def creates(self, request: FundingRequest | None = None) -> list[Arrival]:
        """Create calls for our requests (or one request) that reached the sandbox."""
        keys = (
            {request.idempotency_key}
            if request is not None
            else set(FundingRequest.objects.values_list("idempotency_key", flat=True))
        )
        with self._lock:
            return [a for a in self.arrivals if a.method == "CreateCashMovement" and a.key in keys]

    def reads(self) -> list[Arrival]:
        with self._lock:
            return [a for a in self.arrivals if a.method == "GetCashMovement"]

    def movements(self, request: FundingRequest | None = None) -> list[dict[str, Any]]:
        """The movements the exchange holds for our requests (or for one request)."""
        params = {"firm_id": self.partner.firm_id}
        if request is not None:
            params["idempotency_key"] = request.idempotency_key
        response = self.partner.admin("GET", "/cash-movements", **params)
        assert response.status_code == 200, response.text
        ours = set(FundingRequest.objects.values_list("idempotency_key", flat=True))
        return [m for m in response.json()["cashMovements"] if m["idempotencyKey"] in ours]

    def wait_for_movements(self, request: FundingRequest, count: int, timeout: float = 10) -> None:
        """Let a call the sandbox is still working (an injected delay) finish. Bounded."""
        deadline = time.monotonic() + timeout
        while len(self.movements(request)) < count:
            assert time.monotonic() < deadline, "the sandbox never created the movement"
            time.sleep(0.05)

    def fault(self, **rule: object) -> None:
        response = self.partner.admin("POST", "/faults", rule)
        assert response.status_code == 200, response.text

    def faults_fired(self) -> bool:
        """Every injected fault has fired (the sandbox drops a rule once it is spent)."""
        response = self.partner.admin("GET", "/faults")
        return all(rule["fired"] for rule in response.json()["faults"])

    def disable_firm(self, disabled: bool = True) -> None:
        response = self.partner.admin(
            "POST", f"/firms/{self.partner.firm_id}/disable", {"disabled": disabled}
        )
        assert response.status_code == 200, response.text

    def fund_participant(self, amount: str) -> None:
        self.partner.deposit(self.account.account_id, amount)

    def request(self, *, status: str = "approved", **values: Any) -> FundingRequest:
        """A request of ours for the participant, made and (past approval) approved by two
        different people."""
        values.setdefault("requested_by", UserFactory.create(roles=["treasury"]))
        return FundingRequestFactory.create(account=self.account, status=status, **values)

    # --- another process -------------------------------------------------------------------

    def command(self, name: str, *args: str, **env: str) -> subprocess.Popen[str]:
        """`manage.py name` in a process of its own, on the test database, signed in to the
        sandbox as our firm."""
        return subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, "manage.py", name, *args],
            cwd=ROOT,
            env={**os.environ, **self.process_env(), **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def process_env(self) -> dict[str, str]:
        db = connection.settings_dict
        if connection.vendor == "sqlite":
            url = f"sqlite:///{db['NAME']}"
        else:
            url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        return {
            "ENV_FILE": "tests/test.env",
            "DATABASE_URL": url,
            "POLYMARKET_ENVIRONMENT": "sandbox",
            "POLYMARKET_SANDBOX_URL": self.partner.base,
            "POLYMARKET_CLIENT_ID": self.partner.client_id,
            "POLYMARKET_PRIVATE_KEY_FILE": str(self.key_file),
            "POLYMARKET_BACKOFF_BASE_SECONDS": "0.05",
            "POLYMARKET_BACKOFF_CAP_SECONDS": "0.1",
        }


@contextmanager
def as_staff() -> Iterator[None]:
    """Run as a web request does: the gateway's fast policy (one attempt, no long waits)."""
    with context.bound(
        context.RequestContext(request_id=context.new_request_id(), interactive=True)
    ):
        yield


def provision(live: LiveFunding) -> None:
    """A participant the sandbox approved and provisioned, and the same participant here."""
    pid, account_id = live.partner.onboard()
    live.account = AccountFactory.create(
        account_id=account_id,
        participant__participant_id=pid,
        participant__external_id=pid.rsplit("/", 1)[-1],
    )


def until(check: Callable[[], bool], timeout: float = 15, what: str = "it") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        time.sleep(0.05)


def amounts(values: list[str]) -> list[Decimal]:
    return [Decimal(v) for v in values]
