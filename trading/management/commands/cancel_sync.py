"""Settles support cancels whose answer was lost, by reading the exchange's open orders. Run
from cron every minute; safe to run twice at once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from backoffice.context import command_context
from trading.services import cancel_sync


class Command(BaseCommand):
    help = "Settle order cancels whose outcome is unknown by reading the open orders."

    def handle(self, *args: Any, **options: Any) -> None:
        with command_context("cancel_sync"):
            settled, failed = cancel_sync()
        self.stdout.write(f"Settled {settled} cancels; {failed} could not be read.")
        if failed:
            raise CommandError(f"{failed} cancels could not be settled; they are tried again.")
