"""Polls the exchange for KYC outcomes still open here. Run from cron; safe to run twice at once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backoffice.context import command_context
from participants.sync import kyc_sync


class Command(BaseCommand):
    help = (
        "Ask the exchange about KYC submissions whose outcome may have changed (webhook fallback)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--limit", type=int, default=None, help="At most this many submissions."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with command_context("kyc_sync"):
            report = kyc_sync(limit=options["limit"])
        self.stdout.write(
            f"Checked {report.checked}, changed {report.changed}, skipped {report.skipped} (held by another run)."
        )
        if report.failed:
            for line in report.failed:
                self.stderr.write(line)
            raise CommandError(f"{len(report.failed)} submissions could not be synced; see above.")
