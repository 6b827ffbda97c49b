"""`manage.py gateway_check`: can we sign in to Polymarket US, and who are we there?

Signs in with the configured key (a fresh token exchange), calls whoami and prints the firm, the
environment, the token's lifetime and the scopes granted, and checks that every scope the
back-office uses was granted; or says precisely what is wrong (wrong audience, unknown client,
bad key, clock skew, missing scope, unreachable host, TLS failure), quoting the token server's own
`error` and `error_description`, and exits non-zero.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError

from backoffice import context
from backoffice.gateway.auth import CLOCK_SKEW_TOLERANCE_SECONDS
from backoffice.gateway.client import get_gateway
from backoffice.gateway.config import GatewaySettings
from backoffice.gateway.errors import (
    ConnectionFailed,
    GatewayError,
    GatewayNotConfigured,
    PermissionDenied,
    Timeout,
    TlsFailed,
    TokenExchangeFailed,
    Unauthenticated,
)

# The scopes the back-office's work needs (API.md 3.6), and what for.
REQUIRED_SCOPES = {
    "read:accounts": "whoami, participants and accounts",
    "read:kyc": "KYC status",
    "write:kyc": "KYC submissions and the webhook registration",
    "write:cash-movements": "deposits and withdrawals",
    "read:positions": "balances, positions and ledgers",
    "read:orders": "open orders",
    "write:orders": "cancelling orders",
    "read:reports": "order, execution and trade reports",
    "read:instruments": "reference data",
    "read:dropcopy": "the Drop Copy streams",
}


def _quoted(exc: TokenExchangeFailed) -> str:
    """The token server's own words: `error: error_description`."""
    return f"{exc.error}: {exc.description}" if exc.description else exc.error


def _unreachable(host: str, exc: GatewayError) -> str | None:
    if isinstance(exc, TlsFailed):
        return (
            f"TLS failure: the certificate of {host} does not verify ({exc.message}). Check "
            "POLYMARKET_CA_BUNDLE (the CA that signed it) and that the address is the right one."
        )
    if isinstance(exc, ConnectionFailed | Timeout):
        return f"unreachable host: {host} did not answer ({exc.message})."
    return None


def diagnose(exc: TokenExchangeFailed, *, settings: GatewaySettings) -> str:
    """What an operator should do about a refused or failed sign-in."""
    env = settings.environment
    client_id = settings.client_id
    if exc.cause is not None:
        found = _unreachable(urlsplit(env.token_url).netloc, exc.cause)
        if found:
            return found
    said = _quoted(exc)
    skew = exc.clock_skew_seconds
    if skew is not None and abs(skew) > CLOCK_SKEW_TOLERANCE_SECONDS:
        direction = "behind" if skew > 0 else "ahead of"
        return (
            f"clock skew: this machine's clock is {abs(skew):.0f}s {direction} the token "
            "server's, so the signed assertion's iat/exp look wrong to it. Synchronise the clock "
            f"(NTP). The server said: {said}"
        )
    description = exc.description.lower()
    if exc.error == "access_denied" and "service not found" in description:
        return (
            f"wrong audience: the token server knows no API {env.audience!r}. Set "
            f"POLYMARKET_AUDIENCE (or POLYMARKET_API_URL) to the API it serves. The server said: "
            f"{said}"
        )
    if exc.error == "access_denied":
        return (
            f"access denied: client {client_id!r} may not use the API {env.audience!r}. The "
            f"server said: {said}"
        )
    if exc.error == "unauthorized_client":
        return (
            f"client not authorised: {client_id!r} may not use the client-credentials grant for "
            f"{env.audience!r}. The server said: {said}"
        )
    if exc.error == "invalid_client":
        if any(word in description for word in ("unknown client", "client not found", "no client")):
            return (
                f"unknown client: the token server does not know client id {client_id!r} in "
                f"{env.name}. Check POLYMARKET_CLIENT_ID (one per environment). The server "
                f"said: {said}"
            )
        return (
            "bad key: the assertion's signature matches no public key registered for client id "
            f"{client_id!r} in {env.name}. Check POLYMARKET_PRIVATE_KEY_FILE, or that the client "
            f"id belongs to this environment. The server said: {said}"
        )
    if exc.error == "invalid_client_assertion":
        if "aud" in description:
            return (
                f"wrong assertion audience: the signed assertion names {env.token_url!r} as its "
                f"audience, which the token server does not accept. Check POLYMARKET_TOKEN_URL. "
                f"The server said: {said}"
            )
        return (
            "the token server rejected the signed assertion. Check the machine's clock and the "
            f"environment. The server said: {said}"
        )
    return f"sign-in failed ({exc.http_status or 'no answer'}). The server said: {said}"


class Command(BaseCommand):
    help = "Sign in to Polymarket US, call whoami, and report the firm, token lifetime and scopes."

    def handle(self, *args: Any, **options: Any) -> None:
        with context.command_context("gateway_check"):
            self._check()

    def _check(self) -> None:
        try:
            gateway = get_gateway()
        except GatewayNotConfigured as exc:
            raise CommandError(f"not configured: {exc.message}") from None
        settings = gateway.settings
        env = settings.environment
        self.stdout.write(f"Environment:  {env.name} ({env.api_url})")
        self.stdout.write(f"Token server: {env.token_url} (audience {env.audience})")
        self.stdout.write(f"Client id:    {settings.client_id}")
        keys = ", ".join(key.label for key in settings.keys)
        self.stdout.write(f"Keys:         {keys}")
        gateway.tokens.forget()
        try:
            who = gateway.whoami(actor=None)
        except TokenExchangeFailed as exc:
            raise CommandError(diagnose(exc, settings=settings)) from None
        except PermissionDenied as exc:
            raise CommandError(
                f"missing scope: signed in, but whoami was refused ({exc.message}); the token "
                "needs read:accounts."
            ) from None
        except Unauthenticated as exc:
            raise CommandError(
                "signed in, but the API refused the token even after renewing it: the token "
                f"server issues tokens for {env.audience!r}, which this API does not accept "
                f"({exc.message})."
            ) from None
        except GatewayError as exc:
            found = _unreachable(urlsplit(env.api_url).netloc, exc)
            raise CommandError(found or f"whoami failed: {exc}") from None

        token = gateway.current_token(actor=None)
        self.stdout.write(
            f"Firm:         {who.firm} ({who.firm_display_name or 'no display name'})"
        )
        self.stdout.write(f"Firm type:    {who.firm_type or 'not stated'}")
        self.stdout.write(f"User:         {who.user}")
        self.stdout.write(f"Audience:     {who.audience or 'not stated'}")
        self.stdout.write(f"Signed with:  the {token.key_label} key")
        self.stdout.write(
            f"Token:        valid {token.expires_in}s (until {token.expires_at:%H:%M:%S} UTC)"
        )
        self.stdout.write(f"Scopes:       {' '.join(token.scopes) or 'none stated'}")
        if token.clock_skew_seconds is not None:
            self.stdout.write(f"Clock skew:   {token.clock_skew_seconds:+.0f}s (exchange - here)")
        if who.audience and env.audience.rstrip("/") != who.audience.rstrip("/"):
            self.stdout.write(
                self.style.WARNING(f"The token's audience {who.audience} is not {env.audience}.")
            )
        missing = [scope for scope in REQUIRED_SCOPES if scope not in token.scopes]
        if token.scopes and missing:
            raise CommandError(
                "missing scope: signed in, but the token lacks "
                + "; ".join(f"{scope} ({REQUIRED_SCOPES[scope]})" for scope in missing)
                + ". Ask Polymarket to grant them to this client."
            )
        self.stdout.write(self.style.SUCCESS("OK: signed in and whoami answered."))
