"""Model fields whose values are encrypted in the database and plain in Python."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Expression

from backoffice.pii import crypto


class EncryptedTextField(models.TextField):
    """Text encrypted at rest with the PII keys. It cannot be filtered on: use a keyed hash."""

    description = "Text encrypted at rest"

    def from_db_value(
        self, value: str | None, expression: Expression, connection: BaseDatabaseWrapper
    ) -> Any:
        if value is None or value == "":
            return value
        return self.to_python(crypto.decrypt(value))

    def get_prep_value(self, value: Any) -> Any:
        # Field (not TextField) resolves lazy values without converting back through to_python.
        text = self.to_storage_text(models.Field.get_prep_value(self, value))
        if text is None or text == "":
            return text
        return crypto.encrypt(text)

    def to_storage_text(self, value: Any) -> str | None:
        return None if value is None else str(value)

    def get_lookup(self, lookup_name: str) -> Any:
        # Ciphertexts of equal values differ, so only "is it set" can be asked of the database.
        if lookup_name != "isnull":
            raise NotImplementedError(f"encrypted fields cannot be searched with {lookup_name!r}")
        return super().get_lookup(lookup_name)


class EncryptedDateField(EncryptedTextField):
    """A date (a date of birth) encrypted at rest; a `datetime.date` in Python."""

    description = "Date encrypted at rest"

    def to_python(self, value: Any) -> dt.date | None:
        if value is None or value == "" or isinstance(value, dt.date):
            return value or None
        return dt.date.fromisoformat(str(value))

    def to_storage_text(self, value: Any) -> str | None:
        date = self.to_python(value)
        return date.isoformat() if date else None
