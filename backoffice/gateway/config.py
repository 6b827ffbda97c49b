"""Where the exchange is and who we are to it: environments, client id, private keys, timeouts.

Read from Django settings (themselves read from the environment) the first time the gateway is
used, not at import: the web app starts without exchange credentials and serves every page that
does not need the exchange; the first call, or `manage.py gateway_check`, fails with a message
naming what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from django.conf import settings

from backoffice.gateway.errors import GatewayNotConfigured


@dataclass(frozen=True)
class Environment:
    name: str
    base_url: str  # REST base, also the token audience
    token_url: str  # the Auth0 token endpoint; the assertion's `aud`


def _preset(name: str) -> Environment:
    if name == "preprod":
        return Environment(
            "preprod",
            "https://api.preprod.polymarketexchange.com",
            "https://pmx-preprod.us.auth0.com/oauth/token",
        )
    if name == "prod":
        return Environment(
            "prod",
            "https://api.prod.polymarketexchange.com",
            "https://pmx-prod.us.auth0.com/oauth/token",
        )
    if name == "sandbox":
        base = str(getattr(settings, "POLYMARKET_SANDBOX_URL", "") or "http://127.0.0.1:8100")
        base = base.rstrip("/")
        return Environment("sandbox", base, f"{base}/oauth/token")
    raise GatewayNotConfigured(
        f"POLYMARKET_ENVIRONMENT must be one of 'preprod', 'prod' or 'sandbox' (got {name!r})."
    )


ENVIRONMENT_NAMES = ("preprod", "prod", "sandbox")


@dataclass(frozen=True)
class SigningKey:
    label: str  # "current" or "next"; never the key itself
    key: RSAPrivateKey = field(repr=False)


@dataclass(frozen=True)
class GatewayConfig:
    environment: Environment
    client_id: str
    keys: tuple[SigningKey, ...]  # the current key first, then the next one during a rotation
    connect_timeout: float
    read_timeout: float
    max_attempts: int
    backoff_base: float
    backoff_cap: float
    max_retry_wait: float
    rate_limits: bool
    rate_limit_max_wait: float

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout, self.read_timeout)


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def _load_key(*, label: str, path: str, pem: str) -> SigningKey | None:
    if path and pem:
        raise GatewayNotConfigured(
            "Set either POLYMARKET_PRIVATE_KEY_FILE or POLYMARKET_PRIVATE_KEY, not both."
        )
    if path:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise GatewayNotConfigured(
                f"The {label} private key file cannot be read ({exc.strerror}): {path}"
            ) from None
    elif pem:
        # Environment variables often carry a PEM with literal "\n" sequences.
        data = pem.replace("\\n", "\n").encode()
    else:
        return None
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise GatewayNotConfigured(
            f"The {label} private key is not an unencrypted PEM private key."
        ) from None
    if not isinstance(key, RSAPrivateKey):
        raise GatewayNotConfigured(f"The {label} private key must be an RSA key (RS256 only).")
    return SigningKey(label=label, key=key)


def missing_settings() -> list[str]:
    """The settings a working gateway needs that are empty."""
    missing = []
    if not _setting("POLYMARKET_ENVIRONMENT", ""):
        missing.append("POLYMARKET_ENVIRONMENT")
    if not _setting("POLYMARKET_CLIENT_ID", ""):
        missing.append("POLYMARKET_CLIENT_ID")
    if not (_setting("POLYMARKET_PRIVATE_KEY_FILE", "") or _setting("POLYMARKET_PRIVATE_KEY", "")):
        missing.append("POLYMARKET_PRIVATE_KEY_FILE (or POLYMARKET_PRIVATE_KEY)")
    return missing


def load_config() -> GatewayConfig:
    """The gateway's configuration from settings; raises GatewayNotConfigured naming the gap."""
    missing = missing_settings()
    if missing:
        raise GatewayNotConfigured(
            "The Polymarket US gateway is not configured: "
            + ", ".join(missing)
            + " must be set in the environment."
        )
    environment = _preset(str(_setting("POLYMARKET_ENVIRONMENT", "")))
    current = _load_key(
        label="current",
        path=str(_setting("POLYMARKET_PRIVATE_KEY_FILE", "")),
        pem=str(_setting("POLYMARKET_PRIVATE_KEY", "")),
    )
    assert current is not None  # missing_settings() has made sure
    keys = [current]
    following = _load_key(
        label="next", path=str(_setting("POLYMARKET_PRIVATE_KEY_NEXT_FILE", "")), pem=""
    )
    if following is not None:
        keys.append(following)
    max_attempts = int(_setting("POLYMARKET_MAX_ATTEMPTS", 5))
    if max_attempts < 1:
        raise GatewayNotConfigured("POLYMARKET_MAX_ATTEMPTS must be at least 1.")
    return GatewayConfig(
        environment=environment,
        client_id=str(_setting("POLYMARKET_CLIENT_ID", "")),
        keys=tuple(keys),
        connect_timeout=float(_setting("POLYMARKET_CONNECT_TIMEOUT_SECONDS", 3.05)),
        read_timeout=float(_setting("POLYMARKET_READ_TIMEOUT_SECONDS", 35.0)),
        max_attempts=max_attempts,
        backoff_base=float(_setting("POLYMARKET_BACKOFF_BASE_SECONDS", 1.0)),
        backoff_cap=float(_setting("POLYMARKET_BACKOFF_CAP_SECONDS", 8.0)),
        max_retry_wait=float(_setting("POLYMARKET_MAX_RETRY_WAIT_SECONDS", 30.0)),
        rate_limits=bool(_setting("POLYMARKET_RATE_LIMITS", True)),
        rate_limit_max_wait=float(_setting("POLYMARKET_RATE_LIMIT_MAX_WAIT_SECONDS", 60.0)),
    )
