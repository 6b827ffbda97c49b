"""Settings fail loudly in production, and production settings pass Django's deployment check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION = {
    "ENV_FILE": "",
    "DEBUG": "false",
    "SECRET_KEY": "a-long-production-secret-key-" + "x" * 40,
    "ALLOWED_HOSTS": "backoffice.example.com",
    "SSO_MODE": "header",
    "SSO_TRUSTED_PROXIES": "10.0.0.0/8",
    "PII_ENCRYPTION_KEYS": "_iqteV55Gj3vKgd0djHeZAS7V-TSZnfwkeCcMxRUPi4=",
    "PII_HASH_KEY": "a-production-hash-key",
    "KYC_AGREEMENT_VERSION": "08.06.2026",
}


def run_django(
    env_overrides: dict[str, str | None], *args: str
) -> subprocess.CompletedProcess[str]:
    # Only what a process needs to start: the suite's own settings are in os.environ too.
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    for key, value in {**PRODUCTION, **env_overrides}.items():
        if value is not None:
            env[key] = value
    return subprocess.run(  # noqa: S603  (our own interpreter and manage.py)
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY is not set"),
        ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS is not set"),
        ({"SSO_MODE": None}, "SSO_MODE must be one of"),
        ({"SSO_TRUSTED_PROXIES": None}, "SSO_TRUSTED_PROXIES (CIDRs) is required"),
        ({"SSO_MODE": "local"}, "SSO_MODE=local (password sign-in) is for development"),
        ({"SSO_MODE": "assertion"}, "SSO_ASSERTION_ISSUER is required"),
        (
            {
                "SSO_MODE": "assertion",
                "SSO_ASSERTION_ISSUER": "https://sso.example",
                "SSO_ASSERTION_AUDIENCE": "backoffice",
                "SSO_ASSERTION_ALGORITHMS": "RS256,HS256,none",
            },
            "SSO_ASSERTION_ALGORITHMS may list public-key algorithms only",
        ),
        ({"PII_ENCRYPTION_KEYS": None}, "PII_ENCRYPTION_KEYS is not set"),
        ({"PII_HASH_KEY": None}, "PII_HASH_KEY is not set"),
    ],
)
def test_a_missing_production_setting_stops_start_up_naming_it(missing, message):
    result = run_django(missing, "check")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_development_runs_without_secrets():
    result = run_django({"DEBUG": "true", "SECRET_KEY": None, "SSO_MODE": None}, "check")

    assert result.returncode == 0, result.stderr


def test_production_settings_pass_the_deployment_checklist():
    result = run_django({}, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
