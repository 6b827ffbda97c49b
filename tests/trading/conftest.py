"""Trading test helpers: a sandbox serving its streams on loopback with the gateway (REST and
gRPC) pointed at it, participants that trade there, and the consumer run in-process."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from backoffice.gateway.client import process_gateway, reset_gateway
from backoffice.gateway.streams import reset_channel, stream_client
from sandbox.server import SandboxServer
from tests.exchange import point_gateway_at
from tests.sandbox import conftest as sandbox_fixtures
from tests.sandbox.partner import Partner, register_partner
from trading.consumer import Consumer

SYMBOL = "aec-nfl-ne-den-2026-01-25"
sandbox_factory = sandbox_fixtures.sandbox_factory


@dataclass
class Exchange:
    server: SandboxServer
    partner: Partner

    @property
    def grpc_port(self) -> int:
        port = self.server.sandbox.settings.grpc_port
        assert port
        return port

    def trader(self) -> tuple[str, str]:
        pid, account = self.partner.onboard()
        self.partner.deposit(account, "1000.00")
        return pid, account

    def order(
        self,
        trader: tuple[str, str],
        *,
        side: str = "SIDE_BUY",
        qty: int = 500,
        price: int = 60,
        tif: str = "TIME_IN_FORCE_IMMEDIATE_OR_CANCEL",
    ) -> str:
        pid, account = trader
        response = self.partner.post(
            "/v1/trading/orders",
            {
                "type": "ORDER_TYPE_LIMIT",
                "side": side,
                "orderQty": str(qty),
                "symbol": SYMBOL,
                "price": str(price),
                "timeInForce": tif,
                "account": account,
            },
            pid=pid,
        )
        assert response.status_code == 200, response.text
        return str(response.json()["orderId"])

    def trades_of(self, pid: str) -> list[dict[str, Any]]:
        return list(self.partner.post("/v1/report/trades/search", {}, pid=pid).json()["trade"])

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        response = self.partner.admin(method, path, body)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def exchange(sandbox_factory, settings, tmp_path: Path) -> Iterator[Exchange]:
    """A firm on a fresh sandbox with its streams (batches of 5, heartbeats every 50 ms); the
    gateway and the stream client sign in as it."""
    server = sandbox_factory(grpc_port=0, stream_heartbeat=0.05, stream_batch_size=5)
    partner = register_partner(server.url, firm_id="Acme")
    point_gateway_at(settings, partner, tmp_path)
    settings.POLYMARKET_RATE_LIMITS = False
    settings.POLYMARKET_GRPC_TARGET = f"127.0.0.1:{server.sandbox.settings.grpc_port}"
    yield Exchange(server, partner)
    reset_channel()
    reset_gateway()


@pytest.fixture
def run_consumer(exchange) -> Callable[..., Consumer]:
    """Run the consumer in this process until every stream has caught up (`once`)."""

    def run(holder: str = "test", **options: Any) -> Consumer:
        consumer = Consumer(
            environment="sandbox",
            holder=holder,
            gateway=process_gateway(),
            client=stream_client(),
            once=True,
            sleep=lambda seconds: None,
            **options,
        )
        consumer.run(stop=threading.Event())
        return consumer

    return run
