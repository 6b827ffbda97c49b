"""Open orders by instrument (models.py says why), built concurrently on PostgreSQL as 0002's."""

from django.db import migrations, models

from backoffice.migration_operations import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("trading", "0003_verbose_names")]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="order",
            index=models.Index(
                fields=["symbol", "-insert_time", "-id"],
                condition=models.Q(
                    state__in=(
                        "NEW",
                        "PARTIALLY_FILLED",
                        "PENDING_NEW",
                        "PENDING_REPLACE",
                        "PENDING_CANCEL",
                    )
                ),
                name="order_open_symbol",
            ),
        ),
    ]
