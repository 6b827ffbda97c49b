"""Pointing the back-office's gateway at a sandbox firm, for tests that go over loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from tests.sandbox.partner import Partner


def point_gateway_at(settings: Any, partner: Partner, key_dir: Path) -> None:
    """Configure the gateway (through Django's `settings` fixture) to sign in as `partner`, with
    its private key written to `key_dir` as the file the setting names."""
    key_file = key_dir / "firm.pem"
    key_file.write_bytes(
        partner.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    settings.POLYMARKET_ENVIRONMENT = "sandbox"
    settings.POLYMARKET_SANDBOX_URL = partner.base
    settings.POLYMARKET_CLIENT_ID = partner.client_id
    settings.POLYMARKET_PRIVATE_KEY_FILE = str(key_file)
