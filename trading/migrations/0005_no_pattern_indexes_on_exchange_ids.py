"""Drops the pattern-matching (`varchar_pattern_ops`) copies PostgreSQL's schema editor adds to
every unique CharField's index. Exchange ids are only ever compared whole (the unique index serves
that), never by LIKE, so on the largest tables these copies were pure write cost: one more index
for every execution, order and trade the stream consumer applies, and about 40 bytes an execution
on disk. Dropped concurrently: the consumer writes to these tables meanwhile. SQLite has no such
index."""

from django.db import migrations

# Django's names for them (its schema editor's `_create_index_name(table, [column], "_like")`).
PATTERN_INDEXES = [
    ("trading_execution", "trading_execution_exchange_id_4b754b4b_like"),
    ("trading_order", "trading_order_exchange_id_4aca027c_like"),
    ("trading_trade", "trading_trade_exchange_id_bd886cbe_like"),
]


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for _, name in PATTERN_INDEXES:
            schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table, name in PATTERN_INDEXES:
            schema_editor.execute(
                f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{name}" '
                f'ON "{table}" ("exchange_id" varchar_pattern_ops)'
            )


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("trading", "0004_open_orders_by_symbol")]

    operations = [migrations.RunPython(drop, create, elidable=False)]
