"""The SSO proxy's signing key, and settings that make this instance verify its assertions."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://sso.corp.example"
AUDIENCE = "backoffice"


@pytest.fixture(scope="module")
def signing_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def assertion_mode(settings, tmp_path, signing_key):
    pem = signing_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key_file = tmp_path / "proxy.pem"
    key_file.write_bytes(pem)
    settings.SSO_MODE = "assertion"
    settings.SSO_ASSERTION_PUBLIC_KEY_FILE = str(key_file)
    settings.SSO_ASSERTION_JWKS_FILE = ""
    settings.SSO_ASSERTION_ISSUER = ISSUER
    settings.SSO_ASSERTION_AUDIENCE = AUDIENCE
    return settings
