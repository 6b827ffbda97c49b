"""Injected faults and rate limits: each mode, deterministic."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.sandbox.partner import CASH, Partner, register_partner


def fault(partner: Partner, **rule: object) -> None:
    response = partner.admin("POST", "/faults", rule)
    assert response.status_code == 200, response.text


def test_error_next_calls_then_normal(partner: Partner) -> None:
    fault(partner, family="identity", kind="error", status=503, count=2)
    assert partner.get("/v1/whoami").status_code == 503
    second = partner.get("/v1/whoami")
    assert second.status_code == 503
    assert second.json()["code"] == 14
    assert partner.get("/v1/whoami").status_code == 200


def test_rate_limit_fault_has_retry_after(partner: Partner) -> None:
    fault(partner, family="cash", kind="rate_limit", count=1, retryAfter=3)
    response = partner.post(f"{CASH}/GetFundingAccountBalance", {"currency": "USD"})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert response.json()["code"] == "resource_exhausted"


def test_latency(partner: Partner) -> None:
    fault(partner, family="identity", kind="latency", latencyMs=50, count=1)
    assert partner.get("/v1/whoami").status_code == 200
    assert partner.admin("GET", "/faults").json()["faults"] == []


def test_dropped_connection(partner: Partner) -> None:
    partner.token  # noqa: B018 - before the fault, so the token call is not the one dropped
    fault(partner, family="identity", kind="drop", count=1)
    with pytest.raises(requests.ConnectionError):
        requests.get(partner.base + "/v1/whoami", headers=partner.headers(), timeout=10)
    assert partner.get("/v1/whoami").status_code == 200


def test_malformed_body(partner: Partner) -> None:
    fault(partner, family="identity", kind="malformed", count=1)
    response = partner.get("/v1/whoami")
    assert response.status_code == 200
    with pytest.raises(ValueError):  # noqa: PT011 - any JSON decoding error
        response.json()


def test_seeded_share_is_repeatable(sandbox_factory, tmp_path) -> None:
    outcomes = []
    for run in range(2):
        server = sandbox_factory(data_dir=tmp_path / f"run-{run}")
        partner = register_partner(server.url)
        partner.token  # noqa: B018
        fault(partner, family="identity", kind="error", status=500, share=0.5, seed=42)
        outcomes.append([partner.get("/v1/whoami").status_code for _ in range(12)])
    assert outcomes[0] == outcomes[1]
    assert {500, 200} <= set(outcomes[0])


@pytest.mark.parametrize(
    ("kind", "status"), [("cash_pending", "PENDING"), ("cash_ambiguous", "AMBIGUOUS")]
)
def test_cash_movement_settles_later(partner: Partner, kind: str, status: str) -> None:
    pid, account = partner.onboard()
    fault(partner, family="cash", kind=kind, count=1, settleAfter=0)
    key = str(uuid.uuid4())
    first = partner.deposit(account, "50.00", key=key)
    assert first["status"] == f"CASH_MOVEMENT_STATUS_{status}"
    partner.tick()
    settled = partner.post(f"{CASH}/GetCashMovement", {"workflowId": first["workflowId"]}).json()
    assert settled["cashMovement"]["status"] == "CASH_MOVEMENT_STATUS_CONFIRMED"
    replay = partner.deposit(account, "50.00", key=key)
    assert replay["workflowId"] == first["workflowId"]
    balance = partner.post("/v1/positions/balance", {"name": account}, pid=pid).json()
    assert balance["balance"] == "50.00"


def test_cash_movement_pending_then_rejected(partner: Partner) -> None:
    _, account = partner.onboard()
    fault(
        partner,
        family="cash",
        kind="cash_pending",
        count=1,
        settleAfter=0,
        settleOutcome="REJECTED",
    )
    first = partner.deposit(account, "50.00")
    partner.tick()
    settled = partner.post(f"{CASH}/GetCashMovement", {"workflowId": first["workflowId"]}).json()
    assert settled["cashMovement"]["status"] == "CASH_MOVEMENT_STATUS_REJECTED"


def test_documented_rate_limit(sandbox_factory) -> None:
    server = sandbox_factory(rate_limits=True)
    partner = register_partner(server.url)
    statuses = [
        partner.post("/v1/refdata/instruments", {}).status_code for _ in range(7)
    ]  # ListInstruments: 6 per minute
    assert statuses == [200] * 6 + [429]
    limited = partner.post("/v1/refdata/instruments", {})
    assert limited.json() == {"code": 8, "message": "rate limit exceeded", "details": []}
    assert int(limited.headers["Retry-After"]) >= 1
    off = partner.admin("PATCH", "/config", {"rateLimits": False})
    assert off.json()["rateLimits"] is False
    assert partner.post("/v1/refdata/instruments", {}).status_code == 200
