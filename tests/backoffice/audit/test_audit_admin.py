"""The admin shows the trail read-only: no add, no change, no delete, even for a superuser."""

from __future__ import annotations

from backoffice.audit.models import AuditEvent
from backoffice.audit.services import audit_record


def test_the_admin_lists_and_filters_events(persona):
    admin = persona("superuser")
    audit_record(actor=None, action="funding.withdrawal.approved")

    response = admin.get("/admin/audit/auditevent/?q=funding.withdrawal.approved")

    assert response.status_code == 200
    assert "funding.withdrawal.approved" in response.content.decode()


def test_the_admin_cannot_change_an_event(persona):
    admin = persona("superuser")
    event = audit_record(actor=None, action="x.y")

    view = admin.get(f"/admin/audit/auditevent/{event.pk}/change/")
    post = admin.post(f"/admin/audit/auditevent/{event.pk}/change/", {"action": "forged"})

    assert view.status_code == 200
    assert 'name="action"' not in view.content.decode()  # shown, not editable
    assert post.status_code == 403
    event.refresh_from_db()
    assert event.action == "x.y"


def test_the_admin_cannot_add_or_delete_events(persona):
    admin = persona("superuser")
    event = audit_record(actor=None, action="x.y")
    count = AuditEvent.objects.count()

    assert admin.get("/admin/audit/auditevent/add/").status_code == 403
    assert (
        admin.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    bulk = admin.post(
        "/admin/audit/auditevent/",
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    assert bulk.status_code == 200  # the admin offers no delete action: nothing happens
    assert AuditEvent.objects.count() >= count
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_admin_filters_by_family_without_listing_the_table(persona):
    admin = persona("superuser")
    audit_record(actor=None, action="participants.kyc.submitted")
    audit_record(actor=None, action="gateway.probe.done")

    response = admin.get("/admin/audit/auditevent/?family=participants")

    events = list(response.context["cl"].result_list)
    assert [e.action for e in events] == ["participants.kyc.submitted"]
