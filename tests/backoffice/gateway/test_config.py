"""Settings: environment presets, keys from a file or the environment, and a missing credential
that fails loudly only when the gateway is used (the web app itself starts without it)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from backoffice.gateway.client import get_gateway
from backoffice.gateway.config import load_config
from backoffice.gateway.errors import GatewayNotConfigured


def pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture
def configured(settings, tmp_path, signing_key):
    path = tmp_path / "current.pem"
    path.write_text(pem(signing_key))
    settings.POLYMARKET_ENVIRONMENT = "sandbox"
    settings.POLYMARKET_CLIENT_ID = "client-1"
    settings.POLYMARKET_PRIVATE_KEY_FILE = str(path)
    settings.POLYMARKET_PRIVATE_KEY = ""
    settings.POLYMARKET_PRIVATE_KEY_NEXT_FILE = ""
    return settings


def test_the_suite_runs_without_exchange_credentials_and_pages_still_work(db, client, settings):
    assert (
        settings.POLYMARKET_CLIENT_ID == ""
    )  # tests/test.env sets none: DEBUG off, like production
    assert client.get("/healthz").status_code == 200


def test_a_missing_credential_fails_when_the_gateway_is_used(settings):
    settings.POLYMARKET_ENVIRONMENT = "prod"
    settings.POLYMARKET_CLIENT_ID = ""
    settings.POLYMARKET_PRIVATE_KEY_FILE = ""
    settings.POLYMARKET_PRIVATE_KEY = ""

    with pytest.raises(GatewayNotConfigured) as caught:
        get_gateway()

    assert caught.value.message == (
        "The Polymarket US gateway is not configured: POLYMARKET_CLIENT_ID, "
        "POLYMARKET_PRIVATE_KEY_FILE (or POLYMARKET_PRIVATE_KEY) must be set in the environment."
    )


@pytest.mark.parametrize(
    ("name", "base", "token"),
    [
        ("preprod", "https://api.preprod.polymarketexchange.com", "https://pmx-preprod.us.auth0.com/oauth/token"),
        ("prod", "https://api.prod.polymarketexchange.com", "https://pmx-prod.us.auth0.com/oauth/token"),
        ("sandbox", "http://127.0.0.1:8100", "http://127.0.0.1:8100/oauth/token"),
    ],
)  # fmt: skip
def test_environment_presets(configured, name, base, token):
    configured.POLYMARKET_ENVIRONMENT = name

    environment = load_config().environment

    assert (environment.name, environment.base_url, environment.token_url) == (name, base, token)


def test_the_sandbox_url_comes_from_settings(configured):
    configured.POLYMARKET_SANDBOX_URL = "http://127.0.0.1:9123/"

    environment = load_config().environment

    assert (environment.base_url, environment.token_url) == (
        "http://127.0.0.1:9123",
        "http://127.0.0.1:9123/oauth/token",
    )


def test_an_unknown_environment_is_named(configured):
    configured.POLYMARKET_ENVIRONMENT = "staging"

    with pytest.raises(GatewayNotConfigured, match="'staging'"):
        load_config()


def test_a_pem_from_the_environment_with_escaped_newlines(
    configured, signing_key, other_key, tmp_path
):
    configured.POLYMARKET_PRIVATE_KEY_FILE = ""
    configured.POLYMARKET_PRIVATE_KEY = pem(signing_key).replace("\n", "\\n")
    following = tmp_path / "next.pem"
    following.write_text(pem(other_key))
    configured.POLYMARKET_PRIVATE_KEY_NEXT_FILE = str(following)

    config = load_config()

    assert [key.label for key in config.keys] == ["current", "next"]
    assert config.keys[0].key.private_numbers() == signing_key.private_numbers()
    assert "PRIVATE" not in repr(config)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"POLYMARKET_PRIVATE_KEY": "x"},
            "either POLYMARKET_PRIVATE_KEY_FILE or POLYMARKET_PRIVATE_KEY",
        ),
        ({"POLYMARKET_PRIVATE_KEY_FILE": "/nonexistent/key.pem"}, "cannot be read"),
        (
            {"POLYMARKET_PRIVATE_KEY_FILE": "", "POLYMARKET_PRIVATE_KEY": "not a pem"},
            "not an unencrypted PEM",
        ),
    ],
)
def test_a_bad_key_setting_is_explained(configured, change, message):
    for name, value in change.items():
        setattr(configured, name, value)

    with pytest.raises(GatewayNotConfigured, match=message):
        load_config()


def test_only_rsa_keys_are_accepted(configured):
    configured.POLYMARKET_PRIVATE_KEY_FILE = ""
    configured.POLYMARKET_PRIVATE_KEY = pem(ec.generate_private_key(ec.SECP256R1()))

    with pytest.raises(GatewayNotConfigured, match="must be an RSA key"):
        load_config()


def test_the_gateway_is_built_once_per_process(configured):
    assert get_gateway() is get_gateway()
    first = get_gateway()

    configured.POLYMARKET_CLIENT_ID = "client-2"  # a settings change starts afresh

    assert get_gateway() is not first
    assert get_gateway().config.client_id == "client-2"
