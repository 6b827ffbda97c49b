"""The concurrent index operation takes its index away and builds it again on either database
(concurrently, outside a transaction, on PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import NotSupportedError, connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.state import ProjectState

pytestmark = pytest.mark.django_db(transaction=True)


def indexes_of(table: str) -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.get_constraints(cursor, table))


def open_orders_index() -> tuple[Any, ProjectState, ProjectState]:
    """trading 0004's operation, with the project's state before and after it."""
    loader = MigrationLoader(connection)
    (operation,) = loader.get_migration("trading", "0004_open_orders_by_symbol").operations
    before = loader.project_state(("trading", "0003_verbose_names"))
    after = loader.project_state(("trading", "0004_open_orders_by_symbol"))
    return operation, before, after


def test_backwards_drops_the_index_and_forwards_builds_it_again():
    operation, before, after = open_orders_index()
    assert "order_open_symbol" in indexes_of("trading_order")

    with connection.schema_editor(atomic=False) as editor:
        operation.database_backwards("trading", editor, after, before)
    assert "order_open_symbol" not in indexes_of("trading_order")

    with connection.schema_editor(atomic=False) as editor:
        operation.database_forwards("trading", editor, before, after)
    assert "order_open_symbol" in indexes_of("trading_order")


def test_on_postgresql_it_refuses_to_run_inside_a_transaction():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite builds the index plainly, in a transaction or not")
    operation, before, after = open_orders_index()

    with pytest.raises(NotSupportedError), connection.schema_editor(atomic=True) as editor:
        operation.database_backwards("trading", editor, after, before)
    assert "order_open_symbol" in indexes_of("trading_order")
