"""Run-time settings of one sandbox instance; tests shorten the delays, benchmarks switch limits off."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass
class Settings:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8100
    # The API base URL: the `audience` a client asks for and the `aud` of access tokens. Empty means
    # "http://<host>:<port>", filled in once the port is known.
    public_url: str = ""
    token_expires_in: int = 180
    # Seconds between an instant KYC approval and the participant and account existing.
    provisioning_delay: float = 2.0
    # Webhook retry schedule: the delay after attempt n is webhook_backoff[n-1], with +-20% jitter.
    webhook_backoff: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0)
    webhook_timeout: float = 5.0
    webhook_jitter: float = 0.2
    # Consecutive failed deliveries to one firm after which its deliveries pause (circuit breaker).
    webhook_breaker_threshold: int = 5
    webhook_breaker_cooldown: float = 30.0
    rate_limits: bool = True
    # Token for /_sandbox/. None: the admin surface answers only requests from loopback addresses.
    admin_token: str | None = None
    # proto3 JSON omits zero-valued enums (ORDER_STATE_NEW...); the OpenAPI enums omit them as well.
    emit_zero_enums: bool = False
    worker_interval: float = 0.05
    # gRPC streams (sandbox/streams/) on a second port; None: no gRPC server, 0: any free port.
    grpc_port: int | None = None
    # Threads serving gRPC calls: each open stream holds one.
    grpc_workers: int = 64
    # Seconds of silence after which a stream sends an empty batch (with a fresh resume token).
    stream_heartbeat: float = 5.0
    stream_batch_size: int = 500
    # Concurrent streams per firm, pooled across stream types (API.md 6).
    stream_cap: int = 20
    # A resume token older than this is refused as expired (executions are kept 7 days).
    resume_token_ttl: float = 7 * 86400.0
    # Partner transfers on CreateFundingTransactionSubscription (off by default, API.md 8 #21).
    funding_stream_transfers: bool = False
    seed_market: bool = True
    # HTTPS on the API port with this certificate and key (PEM files); None: plain HTTP.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        scheme = "https" if self.tls_cert else "http"
        return (self.public_url or f"{scheme}://{self.host}:{self.port}").rstrip("/")

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/oauth/token"

    @classmethod
    def from_env(cls, data_dir: Path, **overrides: object) -> Settings:
        """Defaults, then SANDBOX_* environment variables, then explicit overrides."""
        settings = cls(data_dir=data_dir)
        if "SANDBOX_TOKEN_EXPIRES_IN" in os.environ:
            settings.token_expires_in = int(os.environ["SANDBOX_TOKEN_EXPIRES_IN"])
        if "SANDBOX_PROVISIONING_DELAY" in os.environ:
            settings.provisioning_delay = float(os.environ["SANDBOX_PROVISIONING_DELAY"])
        if "SANDBOX_WEBHOOK_BACKOFF" in os.environ:
            settings.webhook_backoff = tuple(
                float(x) for x in os.environ["SANDBOX_WEBHOOK_BACKOFF"].split(",") if x.strip()
            )
        settings.rate_limits = _env_bool("SANDBOX_RATE_LIMITS", settings.rate_limits)
        settings.admin_token = os.environ.get("SANDBOX_ADMIN_TOKEN") or settings.admin_token
        settings.public_url = os.environ.get("SANDBOX_PUBLIC_URL", settings.public_url)
        for key, value in overrides.items():
            if value is not None:
                setattr(settings, key, value)
        return settings
