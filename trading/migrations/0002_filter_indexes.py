"""Indexes for a state or type filter without a symbol or account (models.py says why). Built
concurrently on PostgreSQL: the mirror's tables are large and the consumer writes to them while
the index is built; SQLite (development, tests) builds them plainly."""

from django.db import migrations, models

from backoffice.migration_operations import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("trading", "0001_mirror")]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="execution",
            index=models.Index(
                fields=["exec_type", "-transact_time", "-id"], name="execution_type"
            ),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="order",
            index=models.Index(fields=["state", "-insert_time", "-id"], name="order_state"),
        ),
    ]
