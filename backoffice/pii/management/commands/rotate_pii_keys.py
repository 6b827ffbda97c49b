"""Re-encrypts every encrypted value under the newest key of PII_ENCRYPTION_KEYS.

Resumable and safe to interrupt: values already under the newest key are skipped, and each batch
commits on its own. Run it after putting a new key first in PII_ENCRYPTION_KEYS; once it reports
nothing left, the old keys can be removed from the list.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandParser
from django.db import models, transaction
from django.db.models.functions import Cast

from backoffice.context import command_context
from backoffice.pii import crypto
from backoffice.pii.fields import EncryptedTextField


def encrypted_fields() -> list[tuple[type[models.Model], list[str]]]:
    found = []
    for model in apps.get_models():
        names = [
            f.attname for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)
        ]
        if names:
            found.append((model, names))
    return found


class Command(BaseCommand):
    help = "Re-encrypt all personal data under the newest PII key (resumable)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        with command_context("rotate_pii_keys"):
            total = sum(
                self._rotate(model, names, options["batch_size"])
                for model, names in encrypted_fields()
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-encrypted {total} rows; all values are under key {crypto.primary_key_id()}."
            )
        )

    def _rotate(self, model: type[models.Model], names: list[str], batch_size: int) -> int:
        """Walks the table by primary key, one committed batch at a time."""
        table = model._meta.db_table
        pk = model._meta.pk
        assert pk is not None
        last_pk: Any = None
        rotated = 0
        while True:
            rows = model._base_manager.order_by(pk.attname)
            if last_pk is not None:
                rows = rows.filter(pk__gt=last_pk)
            # Cast to plain text so the field's decryption does not run: we want the ciphertext.
            raw = [Cast(name, output_field=models.TextField()) for name in names]
            batch = list(rows.values_list(pk.attname, *raw)[:batch_size])
            if not batch:
                break
            last_pk = batch[-1][0]
            stale = [row for row in batch if any(v and crypto.needs_rotation(v) for v in row[1:])]
            if stale:
                with transaction.atomic():
                    for row in stale:
                        fresh = {
                            name: crypto.rotate(value)
                            if value and crypto.needs_rotation(value)
                            else value
                            for name, value in zip(names, row[1:], strict=True)
                        }
                        model._base_manager.filter(pk=row[0]).update(**_raw(fresh))
                rotated += len(stale)
                self.stdout.write(f"{table}: {rotated} rows re-encrypted so far")
        return rotated


def _raw(values: dict[str, str | None]) -> dict[str, Any]:
    """Wraps ciphertext so update() stores it as is instead of encrypting it again."""
    return {name: models.Value(value) for name, value in values.items()}
