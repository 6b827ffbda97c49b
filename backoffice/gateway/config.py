"""Where the exchange is and who we are to it, as one typed object: `GatewaySettings`.

`backoffice/settings.py` reads every POLYMARKET_* value from the environment, with its default;
this module only turns those values into typed settings, the first time the gateway is used rather
than at import: the web app starts without exchange credentials and serves every page that does
not need the exchange; the first call, or `manage.py gateway_check`, fails with a message naming
what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from django.conf import settings

from backoffice.gateway.errors import GatewayNotConfigured
from backoffice.gateway.retry import JITTER


@dataclass(frozen=True)
class Environment:
    name: str
    api_url: str  # the REST and Connect base URL
    token_url: str  # the token endpoint, also the client assertion's `aud`
    audience: str  # the API audience the token is asked for


# API.md 3.1. The sandbox serves its token endpoint beside its API.
PRESETS = {
    "preprod": (
        "https://api.preprod.polymarketexchange.com",
        "https://pmx-preprod.us.auth0.com/oauth/token",
    ),
    "prod": (
        "https://api.prod.polymarketexchange.com",
        "https://pmx-prod.us.auth0.com/oauth/token",
    ),
}
ENVIRONMENT_NAMES = ("preprod", "prod", "sandbox")


def environment_from_settings() -> Environment:
    """The environment's preset, with POLYMARKET_API_URL, POLYMARKET_TOKEN_URL and
    POLYMARKET_AUDIENCE overriding its parts (an independent token server, a proxy, a new host)."""
    name = str(settings.POLYMARKET_ENVIRONMENT)
    if name == "sandbox":
        base = str(settings.POLYMARKET_SANDBOX_URL).rstrip("/")
        api_url, token_url = base, f"{base}/oauth/token"
    elif name in PRESETS:
        api_url, token_url = PRESETS[name]
    else:
        raise GatewayNotConfigured(
            f"POLYMARKET_ENVIRONMENT must be one of 'preprod', 'prod' or 'sandbox' (got {name!r})."
        )
    api_url = str(settings.POLYMARKET_API_URL or api_url).rstrip("/")
    return Environment(
        name=name,
        api_url=api_url,
        token_url=str(settings.POLYMARKET_TOKEN_URL or token_url),
        # The audience is the API's URL unless the token server names it otherwise.
        audience=str(settings.POLYMARKET_AUDIENCE or api_url),
    )


@dataclass(frozen=True)
class SigningKey:
    label: str  # "current" or "next"; never the key itself
    key: RSAPrivateKey = field(repr=False)


@dataclass(frozen=True)
class CallPolicy:
    """How long a call may keep its caller waiting. `staff`: someone is looking at a page, so a
    call fails fast and leaves the work to a background command; `job`: a command or a nightly
    run, which may retry with backoff and wait for the exchange's rate limits."""

    name: str
    max_attempts: int  # attempts of a retry-safe call (a 401 renewal does not count)
    read_timeout: float
    max_wait: float  # the longest single sleep: a backoff, a Retry-After, a rate-limit slot
    backoff: bool  # whether transient failures are retried after a backoff sleep

    def timeout(self, connect_timeout: float) -> tuple[float, float]:
        return (connect_timeout, self.read_timeout)


@dataclass(frozen=True)
class GatewaySettings:
    environment: Environment
    client_id: str
    keys: tuple[SigningKey, ...]  # the current key first, then the next one during a rotation
    connect_timeout: float
    # True (the system's certificate authorities) or the path of a CA bundle; never off.
    tls_verify: bool | str
    backoff_base: float
    backoff_cap: float
    rate_limits: bool
    job: CallPolicy
    staff: CallPolicy

    def longest_write(self, policy: CallPolicy) -> float:
        """An upper bound on how long one call that is not retried can take under `policy`: a
        wait for a rate-limit slot, signing in (with the policy's retries and backoff), the call,
        and both once more after a refused token. A send still in flight after this died with
        its process."""
        attempt = self.connect_timeout + policy.read_timeout
        sign_in = attempt * policy.max_attempts
        if policy.backoff:
            longest_sleep = min(policy.max_wait, self.backoff_cap * (1 + JITTER))
            sign_in += (policy.max_attempts - 1) * longest_sleep
        return policy.max_wait + 2 * (sign_in + attempt)


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
    if not settings.POLYMARKET_ENVIRONMENT:
        missing.append("POLYMARKET_ENVIRONMENT")
    if not settings.POLYMARKET_CLIENT_ID:
        missing.append("POLYMARKET_CLIENT_ID")
    if not (settings.POLYMARKET_PRIVATE_KEY_FILE or settings.POLYMARKET_PRIVATE_KEY):
        missing.append("POLYMARKET_PRIVATE_KEY_FILE (or POLYMARKET_PRIVATE_KEY)")
    return missing


def _tls_verify() -> bool | str:
    bundle = str(settings.POLYMARKET_CA_BUNDLE)
    if not bundle:
        return True
    if not Path(bundle).is_file():
        raise GatewayNotConfigured(f"POLYMARKET_CA_BUNDLE names no readable file: {bundle}")
    return bundle


def load_settings() -> GatewaySettings:
    """The gateway's settings from Django's; raises GatewayNotConfigured naming the gap."""
    missing = missing_settings()
    if missing:
        raise GatewayNotConfigured(
            "The Polymarket US gateway is not configured: "
            + ", ".join(missing)
            + " must be set in the environment."
        )
    environment = environment_from_settings()
    current = _load_key(
        label="current",
        path=str(settings.POLYMARKET_PRIVATE_KEY_FILE),
        pem=str(settings.POLYMARKET_PRIVATE_KEY),
    )
    assert current is not None  # missing_settings() has made sure
    keys = [current]
    following = _load_key(label="next", path=str(settings.POLYMARKET_PRIVATE_KEY_NEXT_FILE), pem="")
    if following is not None:
        keys.append(following)
    max_attempts = int(settings.POLYMARKET_MAX_ATTEMPTS)
    if max_attempts < 1:
        raise GatewayNotConfigured("POLYMARKET_MAX_ATTEMPTS must be at least 1.")
    return GatewaySettings(
        environment=environment,
        client_id=str(settings.POLYMARKET_CLIENT_ID),
        keys=tuple(keys),
        connect_timeout=float(settings.POLYMARKET_CONNECT_TIMEOUT_SECONDS),
        tls_verify=_tls_verify(),
        backoff_base=float(settings.POLYMARKET_BACKOFF_BASE_SECONDS),
        backoff_cap=float(settings.POLYMARKET_BACKOFF_CAP_SECONDS),
        rate_limits=bool(settings.POLYMARKET_RATE_LIMITS),
        job=CallPolicy(
            name="job",
            max_attempts=max_attempts,
            read_timeout=float(settings.POLYMARKET_READ_TIMEOUT_SECONDS),
            max_wait=float(settings.POLYMARKET_MAX_WAIT_SECONDS),
            backoff=True,
        ),
        staff=CallPolicy(
            name="staff",
            max_attempts=1,
            read_timeout=float(settings.POLYMARKET_STAFF_READ_TIMEOUT_SECONDS),
            max_wait=float(settings.POLYMARKET_STAFF_MAX_WAIT_SECONDS),
            backoff=False,
        ),
    )
