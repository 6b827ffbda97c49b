"""Fixtures that run the sandbox in a thread on a free loopback port, with a fresh data dir.

No Django here: these tests never request the `db` fixture.

- `sandbox_factory(data_dir=None, **settings)` starts a server (a `SandboxServer`: `.url`,
  `.sandbox`, `.stop()`) and stops it at teardown; settings default to fast test values.
- `sandbox` is one such server; `partner` a firm registered on it (`tests.sandbox.partner.Partner`:
  RSA key, client id, token, get/post helpers); `participant` an approved participant of that firm
  as (participantId, account) with $1,000 deposited; `webhook_receiver` a loopback endpoint.
- `module_partner`: a firm on a sandbox shared by one module's tests, for modules whose tests
  each onboard their own participants and so cannot disturb one another (a module overrides
  `partner` with it and saves a sandbox start per test).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.config import Settings
from sandbox.server import SandboxServer
from tests.sandbox.partner import Partner, WebhookReceiver, register_partner

FAST = {
    "provisioning_delay": 0.0,
    "webhook_backoff": (0.05, 0.05, 0.05, 0.05),
    "webhook_jitter": 0.0,
    "webhook_timeout": 2.0,
    "rate_limits": False,
    "worker_interval": 0.02,
}


def start_sandbox(data_dir: Path, **overrides: Any) -> SandboxServer:
    settings = Settings(data_dir=data_dir, port=0)
    for key, value in {**FAST, **overrides}.items():
        setattr(settings, key, value)
    return SandboxServer(settings).start()


@pytest.fixture
def sandbox_factory(tmp_path: Path) -> Iterator[Callable[..., SandboxServer]]:
    servers: list[SandboxServer] = []

    def start(data_dir: Path | None = None, **overrides: Any) -> SandboxServer:
        server = start_sandbox(data_dir or tmp_path / "sandbox", **overrides)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def sandbox(sandbox_factory: Callable[..., SandboxServer]) -> SandboxServer:
    return sandbox_factory()


@pytest.fixture
def partner(sandbox: SandboxServer) -> Partner:
    return register_partner(sandbox.url)


@pytest.fixture(scope="module")
def module_partner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Partner]:
    server = start_sandbox(tmp_path_factory.mktemp("sandbox"))
    yield register_partner(server.url)
    server.stop()


@pytest.fixture
def participant(partner: Partner) -> tuple[str, str]:
    pid, account = partner.onboard()
    partner.deposit(account, "1000.00")
    return pid, account


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()
