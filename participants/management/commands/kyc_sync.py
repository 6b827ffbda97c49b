"""Finishes unfinished KYC sends and polls the exchange for decisions still open here. Run from cron
every minute; safe to run twice at once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backoffice.context import command_context
from participants.sync import kyc_sync


class Command(BaseCommand):
    help = (
        "Finish KYC sends that did not finish, and ask the exchange about open evaluations "
        "(the webhook's fallback)."
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
        for line in report.failed:
            self.stderr.write(line)
        for line in report.attention:
            self.stderr.write(f"{line} (now in the queue's Needs attention tab)")
        if report.misconfigured:
            raise CommandError(
                f"Stopped: the exchange connection is misconfigured ({report.misconfigured}). "
                "Fix the settings (manage.py gateway_check says what is wrong); the next run "
                "picks up where this one stopped."
            )
        if report.failed:
            raise CommandError(f"{len(report.failed)} submissions could not be synced; see above.")
        if report.attention:
            raise CommandError(
                f"{len(report.attention)} submissions contradict the exchange and need a person; "
                "see above."
            )
