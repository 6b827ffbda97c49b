"""`manage.py gateway_check`: can we sign in to Polymarket US, and who are we there?

Signs in with the configured key (a fresh token exchange), calls whoami and prints the firm, the
environment, the token's lifetime and the scopes granted; or says what is wrong (wrong key, wrong
client id, clock skew, unreachable host) and exits non-zero.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError

from backoffice import context
from backoffice.gateway.auth import CLOCK_SKEW_TOLERANCE_SECONDS
from backoffice.gateway.client import get_gateway
from backoffice.gateway.errors import (
    ConnectionFailed,
    GatewayError,
    GatewayNotConfigured,
    PermissionDenied,
    Timeout,
    TokenExchangeFailed,
    Unauthenticated,
)


def diagnose(exc: TokenExchangeFailed, *, client_id: str, environment: str, token_url: str) -> str:
    """What an operator should do about a refused or failed sign-in."""
    skew = exc.clock_skew_seconds
    if skew is not None and abs(skew) > CLOCK_SKEW_TOLERANCE_SECONDS:
        direction = "behind" if skew > 0 else "ahead of"
        return (
            f"clock skew: this machine's clock is {abs(skew):.0f}s {direction} the exchange's, so "
            "the signed assertion's iat/exp look wrong to it. Synchronise the clock (NTP)."
        )
    description = exc.description.lower()
    if exc.error == "invalid_client":
        if any(word in description for word in ("unknown client", "client not found", "no client")):
            return (
                f"wrong client id: the exchange does not know client id {client_id!r} in "
                f"{environment}. Check POLYMARKET_CLIENT_ID (one per environment)."
            )
        return (
            "wrong key (invalid_client): the assertion's signature does not match any public key "
            f"registered for client id {client_id!r} in {environment}. Check "
            "POLYMARKET_PRIVATE_KEY_FILE, or that the client id belongs to this environment."
        )
    if exc.error == "invalid_client_assertion":
        return (
            "the exchange rejected the signed assertion (invalid_client_assertion): "
            f"{exc.description or 'no detail given'}. Check the machine's clock and the environment."
        )
    if exc.error == "access_denied":
        return f"access denied: client {client_id!r} may not use {environment}."
    if exc.error in {ConnectionFailed.code, Timeout.code}:
        host = urlsplit(token_url).netloc
        return f"unreachable host: {host} did not answer ({exc.message})."
    return f"sign-in failed: {exc}"


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
        env = gateway.settings.environment
        self.stdout.write(f"Environment:  {env.name} ({env.api_url})")
        self.stdout.write(f"Client id:    {gateway.settings.client_id}")
        keys = ", ".join(key.label for key in gateway.settings.keys)
        self.stdout.write(f"Keys:         {keys}")
        gateway.tokens.forget()
        try:
            who = gateway.whoami(actor=None)
        except TokenExchangeFailed as exc:
            raise CommandError(
                diagnose(
                    exc,
                    client_id=gateway.settings.client_id,
                    environment=env.name,
                    token_url=env.token_url,
                )
            ) from None
        except (ConnectionFailed, Timeout) as exc:
            host = urlsplit(env.api_url).netloc
            raise CommandError(
                f"unreachable host: {host} did not answer ({exc.message})."
            ) from None
        except PermissionDenied as exc:
            raise CommandError(
                f"signed in, but whoami was refused ({exc.message}): the token lacks read:accounts?"
            ) from None
        except Unauthenticated as exc:
            raise CommandError(
                f"signed in, but the API refused the token even after renewing it: {exc.message}"
            ) from None
        except GatewayError as exc:
            raise CommandError(f"whoami failed: {exc}") from None

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
        if env.api_url.rstrip("/") != who.audience.rstrip("/") and who.audience:
            self.stdout.write(
                self.style.WARNING(f"The token's audience {who.audience} is not {env.api_url}.")
            )
        self.stdout.write(self.style.SUCCESS("OK: signed in and whoami answered."))
