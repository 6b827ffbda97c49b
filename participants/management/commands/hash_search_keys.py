"""Fills the search hashes (email, phone, full name) of submissions recorded before they existed.

Resumable and safe to interrupt: rows that have their hashes are skipped, and each batch commits on
its own. New submissions get their hashes at intake, so once this reports nothing left it need not
run again, except after a change of PII_HASH_KEY (run it with --all then, after which duplicate
detection and search use the new key).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from backoffice.context import command_context
from participants.models import KycSubmission
from participants.search import submission_hashes


class Command(BaseCommand):
    help = "Fill the keyed hashes that search by email, phone and name uses (resumable)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument(
            "--all",
            action="store_true",
            help="Recompute every row's hashes, the SSN's too (after changing PII_HASH_KEY).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size: int = options["batch_size"]
        filled = 0
        last_pk = 0
        with command_context("hash_search_keys"):
            while True:
                rows = KycSubmission.objects.filter(pk__gt=last_pk).order_by("pk")
                if not options["all"]:
                    rows = rows.filter(name_hash="")
                batch = list(
                    rows.only("pk", "ssn", "email", "phone_number", "first_name", "last_name")[
                        :batch_size
                    ]
                )
                if not batch:
                    break
                last_pk = batch[-1].pk
                for submission in batch:
                    for column, value in submission_hashes(
                        ssn=submission.ssn,
                        email=submission.email,
                        phone_number=submission.phone_number,
                        first_name=submission.first_name,
                        last_name=submission.last_name,
                    ).items():
                        setattr(submission, column, value)
                with transaction.atomic():
                    KycSubmission.objects.bulk_update(
                        batch, ["ssn_hash", "email_hash", "phone_hash", "name_hash"]
                    )
                filled += len(batch)
                self.stdout.write(f"{filled} submissions hashed so far")
        self.stdout.write(self.style.SUCCESS(f"Hashed {filled} submissions; none is left."))
