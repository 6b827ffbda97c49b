"""PostgreSQL keeps the audit trail append-only against the database itself: TRUNCATE is refused
to everyone, and the production role of the README reads and appends, nothing else."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction

from backoffice.audit.models import AuditEvent
from backoffice.audit.services import audit_record
from tests.conftest import NO_TRUNCATE

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the triggers and grants are PostgreSQL's"
)
README = Path(__file__).resolve().parents[3] / "README.md"
APP_ROLE = f"bo_app_test_{os.getpid()}"  # roles are shared by the whole server: one per run


def readme_grants() -> list[str]:
    """The README's statements for the production roles, for this test database and role."""
    block = README.read_text(encoding="utf-8").split("```sql\n", 1)[1].split("```", 1)[0]
    sql = re.sub(r"--[^\n]*", "", block)
    statements = [" ".join(s.split()) for s in sql.split(";") if s.strip()]
    # Roles and the database exist already; here the suite's own user owns the tables.
    statements = [s for s in statements if not s.startswith(("CREATE ROLE", "CREATE DATABASE"))]
    return [
        s.replace("backoffice_owner", "CURRENT_USER")
        .replace("FOR ROLE CURRENT_USER", "FOR ROLE " + connection.settings_dict["USER"])
        .replace("backoffice_app", APP_ROLE)
        .replace("DATABASE backoffice", f'DATABASE "{connection.settings_dict["NAME"]}"')
        for s in statements
    ]


def refused(statement: str, params: list | None = None) -> bool:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, params)
    except DatabaseError:
        return True
    return False


def test_truncate_is_refused_even_to_the_owner(db):
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE audit_auditevent ENABLE TRIGGER {NO_TRUNCATE}")
    event = audit_record(actor=None, action="x.y")
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred check may stand in the way

    with (
        pytest.raises(DatabaseError, match="TRUNCATE refused"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("TRUNCATE audit_auditevent")

    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_migration_installs_a_statement_trigger_for_truncate(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgenabled FROM pg_trigger WHERE tgname = %s AND tgrelid = 'audit_auditevent'::regclass",
            [NO_TRUNCATE],
        )
        # "D": disabled by the suite only (tests/conftest.py); migrate leaves it "O" (enabled).
        assert cursor.fetchall() == [("D",)]
        cursor.execute(
            "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname = %s", [NO_TRUNCATE]
        )
        assert cursor.fetchone()[0] == (
            "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON public.audit_auditevent "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_no_truncate()"
        )


def test_the_production_role_reads_and_appends_to_the_trail_and_nothing_else(db):
    event = audit_record(actor=None, action="x.y")
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {APP_ROLE} NOLOGIN")  # rolled back with the test
        for statement in readme_grants():
            if statement.startswith("REVOKE"):
                # What the default privileges give each table as `migrate` creates it (the
                # tables of this database exist already).
                cursor.execute(
                    f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}"
                )
                cursor.execute(
                    f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}"
                )
            cursor.execute(statement)
        cursor.execute(f"SET LOCAL ROLE {APP_ROLE}")

    appended = audit_record(actor=None, action="x.appended")
    assert AuditEvent.objects.filter(pk__in=[event.pk, appended.pk]).count() == 2
    assert refused("UPDATE audit_auditevent SET action = 'forged' WHERE id = %s", [event.pk])
    assert refused("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    assert refused("TRUNCATE audit_auditevent")
    # Everything else it reads and writes as the app must.
    assert not refused("UPDATE django_session SET expire_date = expire_date")
    assert not refused("DELETE FROM django_session WHERE session_key = 'none'")

    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
    assert AuditEvent.objects.get(pk=event.pk).action == "x.y"
