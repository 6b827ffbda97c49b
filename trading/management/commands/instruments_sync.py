"""Reads every instrument from reference data into the mirror (6 requests a minute, shared by
every process); the instrument state stream keeps them current afterwards."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from backoffice.context import command_context
from backoffice.gateway.errors import GatewayError
from trading.instruments import instruments_sync


class Command(BaseCommand):
    help = "Read every instrument (symbol, scales, tick size, limits, state) from reference data."

    def handle(self, *args: Any, **options: Any) -> None:
        with command_context("instruments_sync"):
            try:
                count = instruments_sync()
            except GatewayError as exc:
                raise CommandError(f"Reference data could not be read: {exc}") from None
        self.stdout.write(f"{count} instruments synced.")
