"""PostgreSQL refuses TRUNCATE of the audit trail too, whoever asks, the table's owner included.

Migration 0002 refuses UPDATE and DELETE row by row; TRUNCATE fires no row trigger, so it needs a
statement trigger of its own. In production the application's database role holds only SELECT and
INSERT on the table (the README gives the grants); this trigger also stops the owner and anyone
else with the privilege. The test suite, which empties every table with TRUNCATE between
transactional tests, disables it in its own test database (tests/conftest.py).
"""

from django.db import migrations

POSTGRES_FORWARD = """
CREATE OR REPLACE FUNCTION audit_event_no_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only (TRUNCATE refused)';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_no_truncate();
"""
POSTGRES_REVERSE = """
DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_event_no_truncate();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_FORWARD)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_REVERSE)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_triggers")]
    operations = [migrations.RunPython(forward, reverse)]
