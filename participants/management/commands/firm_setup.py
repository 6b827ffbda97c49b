"""Records the firm for this environment and registers (or re-registers) the KYC webhook."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backoffice.context import command_context
from backoffice.gateway.errors import GatewayError
from participants.errors import OnboardingError
from participants.firms import firm_setup


class Command(BaseCommand):
    help = "Ask the exchange who we are, store the firm, and register the KYC webhook with a new secret."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--webhook-url",
            required=True,
            help="The public address of /webhooks/polymarket/kyc/ (HTTPS in production).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with command_context("firm_setup"):
            try:
                firm = firm_setup(webhook_url=options["webhook_url"], actor=None)
            except OnboardingError as exc:
                raise CommandError(exc.message) from exc
            except GatewayError as exc:  # whoami: nothing was changed
                raise CommandError(
                    f"Nothing was set up: asking the exchange who we are failed ({exc}). "
                    "manage.py gateway_check says more."
                ) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Firm {firm.firm_id} ({firm.environment}) set up; webhook at {firm.webhook_url}."
            )
        )
