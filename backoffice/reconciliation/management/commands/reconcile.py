"""The nightly reconciliation: `manage.py reconcile [--as-of DATE] [--account ID ...] [--dry-run]`.

Progress goes to the terminal (stderr, when it is one); the last line on stdout is a one-line
JSON summary. Exit status: 0 clean, 1 breaks found, 2 the run failed, could not check every
account, or could not start (another run is in progress).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backoffice.context import command_context
from backoffice.reconciliation import dates
from backoffice.reconciliation.checks import CheckPage, configured_checks
from backoffice.reconciliation.models import ReconciliationRun
from backoffice.reconciliation.runs import (
    RunRefused,
    exit_code,
    run_begin,
    run_dry,
    run_execute,
    summary,
)


def _business_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--as-of: {value!r} is not a date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = (
        "Reconcile the firm's records with the exchange's for one business date (default: the "
        "latest whose cut-off has passed), resuming an interrupted run of the same date."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as-of", dest="as_of", help="The business date, YYYY-MM-DD.")
        parser.add_argument(
            "--account",
            dest="accounts",
            action="append",
            default=[],
            metavar="ID",
            help="Only this exchange account (repeat for more).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would be found; write nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        latest = dates.latest_closed_date()
        day = _business_date(options["as_of"]) if options["as_of"] else latest
        if day > latest:
            raise CommandError(
                f"--as-of: {day} has not closed yet (its cut-off and the "
                f"{dates.timing_grace()} after it have not passed); the latest is {latest}"
            )
        accounts = [a.strip() for a in options["accounts"] if a.strip()]
        checks = configured_checks()
        if not checks:
            raise CommandError("BACKOFFICE_RECONCILIATION_CHECKS lists no check: nothing to do")
        with command_context("reconcile"):
            if options["dry_run"]:
                report = run_dry(business_date=day, accounts=accounts, checks=checks)
                self.stdout.write(json.dumps(report, sort_keys=True))
                sys.exit(report["exit"])
            try:
                run = run_begin(business_date=day, accounts=accounts, checks=checks, actor=None)
            except RunRefused as exc:
                self.stderr.write(f"reconcile: not started: {exc}")
                sys.exit(2)
            if run.resumes:
                self._say(f"Resuming run #{run.pk} for {day} from its checkpoint.")
            else:
                self._say(f"Run #{run.pk} for {day}: {', '.join(run.checks)}.")
            finished = run_execute(run, checks, actor=None, progress=self._progress)
        if self.stderr.isatty():
            self.stderr.write("")
        self.stdout.write(json.dumps(summary(finished), sort_keys=True))
        sys.exit(exit_code(finished))

    def _say(self, line: str) -> None:
        if self.stderr.isatty():
            self.stderr.write(line)

    def _progress(self, run: ReconciliationRun, name: str, page: CheckPage) -> None:
        if not self.stderr.isatty():
            return
        counts = run.counts[name]
        self.stderr.write(
            f"\r{name}: {counts['accounts']:,} checked, {counts['breaks']:,} breaks, "
            f"{len(run.not_checked):,} not checked",
            ending="",
        )
