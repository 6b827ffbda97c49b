"""The audit trail is append-only, carries the request's id and address, and holds no PII."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from backoffice import context
from backoffice.audit.models import AuditEvent, AuditTrailIsAppendOnly
from backoffice.audit.services import audit_record


def test_an_event_records_actor_action_object_and_the_request(make_user):
    user = make_user("frank", "compliance")
    with context.bound(context.RequestContext(request_id="req-12345678", client_ip="192.0.2.10")):
        event = audit_record(
            actor=user, action="participants.kyc.submitted", target=user, payload={"n": 1}
        )

    event.refresh_from_db()
    assert (event.actor, event.actor_label, event.action) == (
        user,
        "frank",
        "participants.kyc.submitted",
    )
    assert (event.object_type, event.object_id) == ("auth.user", str(user.pk))
    assert (event.request_id, event.client_ip, event.payload) == (
        "req-12345678",
        "192.0.2.10",
        {"n": 1},
    )


def test_system_work_is_attributed_to_its_origin(db):
    with context.command_context("kyc_sync"):
        event = audit_record(actor=None, action="participants.kyc.synced")

    assert event.actor is None
    assert event.actor_label == "command:kyc_sync"


def test_pii_never_enters_a_payload(db):
    with pytest.raises(ValueError, match="ssn"):
        audit_record(actor=None, action="x.y", payload={"ssn": "123456789"})

    assert not AuditEvent.objects.exists()


def test_events_cannot_be_changed_or_deleted_through_the_orm(db):
    event = audit_record(actor=None, action="x.y")

    with pytest.raises(AuditTrailIsAppendOnly):
        event.save()
    with pytest.raises(AuditTrailIsAppendOnly):
        event.delete()
    with pytest.raises(AuditTrailIsAppendOnly):
        AuditEvent.objects.filter(pk=event.pk).update(action="changed")
    with pytest.raises(AuditTrailIsAppendOnly):
        AuditEvent.objects.all().delete()

    event.refresh_from_db()
    assert event.action == "x.y"


def test_the_database_refuses_an_update_from_outside_the_orm(db):
    event = audit_record(actor=None, action="x.y")

    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET action = 'forged' WHERE id = %s", [event.pk])

    event.refresh_from_db()
    assert event.action == "x.y"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite refuses UPDATE only")
def test_postgresql_refuses_a_delete_from_outside_the_orm(db):
    event = audit_record(actor=None, action="x.y")

    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])

    assert AuditEvent.objects.filter(pk=event.pk).exists()
