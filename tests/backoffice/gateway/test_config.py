"""Settings: environment presets, keys from a file or the environment, and a missing credential
that fails loudly only when the gateway is used (the web app itself starts without it)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from backoffice.gateway.client import get_gateway
from backoffice.gateway.config import Environment, load_settings
from backoffice.gateway.errors import GatewayNotConfigured
from tests.backoffice.test_settings import run_django


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
    settings.POLYMARKET_API_URL = ""
    settings.POLYMARKET_TOKEN_URL = ""
    settings.POLYMARKET_AUDIENCE = ""
    settings.POLYMARKET_CA_BUNDLE = ""
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

    environment = load_settings().environment

    assert (environment.name, environment.api_url, environment.token_url) == (name, base, token)


def test_the_sandbox_url_comes_from_settings(configured):
    configured.POLYMARKET_SANDBOX_URL = "http://127.0.0.1:9123/"

    environment = load_settings().environment

    assert (environment.api_url, environment.token_url) == (
        "http://127.0.0.1:9123",
        "http://127.0.0.1:9123/oauth/token",
    )


def test_the_token_server_and_audience_can_be_set_apart_from_the_preset(configured):
    configured.POLYMARKET_ENVIRONMENT = "preprod"
    configured.POLYMARKET_TOKEN_URL = "https://login.example.test/realms/pm/token"
    configured.POLYMARKET_AUDIENCE = "urn:polymarket:api"

    environment = load_settings().environment

    assert environment == Environment(
        name="preprod",
        api_url="https://api.preprod.polymarketexchange.com",
        token_url="https://login.example.test/realms/pm/token",
        audience="urn:polymarket:api",
    )


def test_the_api_url_can_be_set_and_is_then_the_default_audience(configured):
    configured.POLYMARKET_ENVIRONMENT = "prod"
    configured.POLYMARKET_API_URL = "https://pm-egress.internal.example/"

    environment = load_settings().environment

    assert (environment.api_url, environment.audience, environment.token_url) == (
        "https://pm-egress.internal.example",
        "https://pm-egress.internal.example",
        "https://pmx-prod.us.auth0.com/oauth/token",
    )


def test_tls_is_verified_against_the_system_or_a_named_bundle(configured, tmp_path):
    assert load_settings().tls_verify is True
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    configured.POLYMARKET_CA_BUNDLE = str(bundle)

    assert load_settings().tls_verify == str(bundle)


def test_a_missing_ca_bundle_is_named(configured):
    configured.POLYMARKET_CA_BUNDLE = "/nonexistent/ca.pem"

    with pytest.raises(GatewayNotConfigured, match="POLYMARKET_CA_BUNDLE names no readable file"):
        load_settings()


def test_every_gateway_setting_comes_from_the_environment(tmp_path, signing_key):
    key = tmp_path / "key.pem"
    key.write_text(pem(signing_key))
    script = (
        "from backoffice.gateway.config import Environment, load_settings; s = load_settings(); "
        "print(s.environment.token_url, s.environment.audience, s.backoff_base, s.backoff_cap, "
        "s.job.max_attempts, s.job.read_timeout, s.job.max_wait, s.staff.read_timeout, "
        "s.staff.max_wait, s.connect_timeout, s.rate_limits)"
    )
    result = run_django(
        {
            "POLYMARKET_ENVIRONMENT": "sandbox",
            "POLYMARKET_CLIENT_ID": "c-1",
            "POLYMARKET_PRIVATE_KEY_FILE": str(key),
            "POLYMARKET_TOKEN_URL": "https://auth.example.test/token",
            "POLYMARKET_AUDIENCE": "https://api.example.test",
            "POLYMARKET_BACKOFF_BASE_SECONDS": "0.25",
            "POLYMARKET_BACKOFF_CAP_SECONDS": "4",
            "POLYMARKET_MAX_ATTEMPTS": "3",
            "POLYMARKET_READ_TIMEOUT_SECONDS": "20",
            "POLYMARKET_MAX_WAIT_SECONDS": "15",
            "POLYMARKET_STAFF_READ_TIMEOUT_SECONDS": "6",
            "POLYMARKET_STAFF_MAX_WAIT_SECONDS": "0.5",
            "POLYMARKET_CONNECT_TIMEOUT_SECONDS": "2",
            "POLYMARKET_RATE_LIMITS": "false",
        },
        "shell",
        "-c",
        script,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == [
        "https://auth.example.test/token", "https://api.example.test", "0.25", "4.0", "3",
        "20.0", "15.0", "6.0", "0.5", "2.0", "False",
    ]  # fmt: skip


def test_an_unknown_environment_is_named(configured):
    configured.POLYMARKET_ENVIRONMENT = "staging"

    with pytest.raises(GatewayNotConfigured, match="'staging'"):
        load_settings()


def test_a_pem_from_the_environment_with_escaped_newlines(
    configured, signing_key, other_key, tmp_path
):
    configured.POLYMARKET_PRIVATE_KEY_FILE = ""
    configured.POLYMARKET_PRIVATE_KEY = pem(signing_key).replace("\n", "\\n")
    following = tmp_path / "next.pem"
    following.write_text(pem(other_key))
    configured.POLYMARKET_PRIVATE_KEY_NEXT_FILE = str(following)

    config = load_settings()

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
        load_settings()


def test_only_rsa_keys_are_accepted(configured):
    configured.POLYMARKET_PRIVATE_KEY_FILE = ""
    configured.POLYMARKET_PRIVATE_KEY = pem(ec.generate_private_key(ec.SECP256R1()))

    with pytest.raises(GatewayNotConfigured, match="must be an RSA key"):
        load_settings()


def test_the_gateway_is_built_once_per_process(configured):
    assert get_gateway() is get_gateway()
    first = get_gateway()

    configured.POLYMARKET_CLIENT_ID = "client-2"  # a settings change starts afresh

    assert get_gateway() is not first
    assert get_gateway().settings.client_id == "client-2"
