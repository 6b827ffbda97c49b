"""Finishes every funding request whose outcome is not final. Run from cron every minute; safe to
run twice at once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backoffice.context import command_context
from funding.resume import funding_resume


class Command(BaseCommand):
    help = (
        "Send approved funding requests not yet sent, replay under the same key those whose "
        "outcome is not settled, and read movements the exchange holds as pending."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--limit", type=int, default=None, help="At most this many requests of each kind."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with command_context("funding_resume"):
            report = funding_resume(limit=options["limit"])
        self.stdout.write(
            f"Sent {report.sent}, read {report.checked} pending, {report.settled} now final, "
            f"{report.interrupted} interrupted sends picked up, skipped {report.skipped} "
            "(worked by another run)."
        )
        for line in report.failed:
            self.stderr.write(line)
        if report.misconfigured:
            raise CommandError(
                f"Stopped: {report.misconfigured}. Fix the settings (manage.py gateway_check says "
                "what is wrong); the next run picks up where this one stopped."
            )
        if report.failed:
            raise CommandError(f"{len(report.failed)} requests are not settled yet; see above.")
