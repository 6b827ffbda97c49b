"""Migration operations shared by the apps' migrations."""

from typing import Any

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    """An index built concurrently on PostgreSQL, where the table is large and written to while
    the index is built (the migration must say `atomic = False`); SQLite (development, tests)
    builds it plainly."""

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        self._as_the_database_allows(
            "database_forwards", app_label, schema_editor, from_state, to_state
        )

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        self._as_the_database_allows(
            "database_backwards", app_label, schema_editor, from_state, to_state
        )

    def _as_the_database_allows(
        self, method: str, app_label: str, schema_editor: Any, *states: Any
    ) -> None:
        """Django's concurrent operation on PostgreSQL, its plain AddIndex elsewhere."""
        kind = (
            AddIndexConcurrently
            if schema_editor.connection.vendor == "postgresql"
            else migrations.AddIndex
        )
        getattr(kind, method)(self, app_label, schema_editor, *states)
