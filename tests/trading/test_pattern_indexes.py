"""On PostgreSQL the mirror's exchange ids keep their unique index but not the pattern-matching
copy Django adds to it (trading migration 0005): nothing searches them by LIKE, and the consumer
would maintain it for every row."""

from __future__ import annotations

import importlib

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)
migration = importlib.import_module("trading.migrations.0005_no_pattern_indexes_on_exchange_ids")
TABLES = ["trading_execution", "trading_order", "trading_trade"]


def indexes(table: str) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table])
        return dict(cursor.fetchall())


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no pattern-matching indexes")


@pytest.mark.parametrize("table", TABLES)
def test_the_unique_index_stays_and_its_pattern_copy_is_gone(table):
    found = indexes(table)

    assert [d for d in found.values() if "varchar_pattern_ops" in d] == []
    assert any("UNIQUE" in d and "(exchange_id)" in d for d in found.values())


def test_the_names_are_djangos_so_going_back_restores_exactly_what_it_made():
    with connection.schema_editor(atomic=False) as editor:
        for table, name in migration.PATTERN_INDEXES:
            # The schema editor's own naming (not in the type stubs: it is Django's internal).
            made = editor._create_index_name(table, ["exchange_id"], suffix="_like")  # type: ignore[attr-defined]
            assert name == made
        migration.create(None, editor)
    try:
        for table, name in migration.PATTERN_INDEXES:
            assert "varchar_pattern_ops" in indexes(table)[name]
    finally:
        with connection.schema_editor(atomic=False) as editor:
            migration.drop(None, editor)
    assert all(name not in indexes(table) for table, name in migration.PATTERN_INDEXES)
