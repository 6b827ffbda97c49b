"""Roles are Django groups with the permissions settings give them; other roles are refused."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from backoffice.audit.models import AuditEvent
from backoffice.identity.roles import sync_role_groups
from participants import selectors


def test_every_role_is_a_group_with_exactly_its_permissions(db, settings):
    settings.BACKOFFICE_ROLES = {**settings.BACKOFFICE_ROLES, "support": ["audit.view_auditevent"]}

    sync_role_groups()

    support = Group.objects.get(name="support")
    assert [p.codename for p in support.permissions.all()] == ["view_auditevent"]
    assert set(Group.objects.values_list("name", flat=True)) >= {
        "compliance",
        "support",
        "treasury",
        "supervisor",
    }


@pytest.mark.parametrize("role", ["support", "treasury"])
def test_the_audit_page_refuses_other_roles_and_audits_the_refusal(persona, role):
    response = persona(role).get("/audit/")

    assert response.status_code == 403
    refusal = AuditEvent.objects.get(action="identity.access.refused")
    assert refusal.actor_label == f"{role}-persona"
    assert refusal.payload == {"path": "/audit/", "method": "GET"}


@pytest.mark.parametrize("role", ["compliance", "supervisor"])
def test_the_audit_page_opens_for_its_roles(persona, role):
    assert persona(role).get("/audit/").status_code == 200


def test_role_changes_in_the_admin_are_audited(persona, make_user):
    admin = persona("superuser")
    target = make_user("erin", "support")
    treasury = Group.objects.get(name="treasury")

    response = admin.post(
        f"/admin/auth/user/{target.pk}/change/",
        {
            "username": "erin",
            "email": "erin@example.com",
            "is_active": "on",
            "is_staff": "on",
            "groups": [treasury.pk],
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "initial-date_joined_0": "2026-01-01",
            "initial-date_joined_1": "00:00:00",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    change = AuditEvent.objects.filter(
        action="identity.roles.changed", object_id=str(target.pk)
    ).latest("id")
    assert change.actor_label == "superuser-persona"
    assert change.payload == {"before": ["support"], "after": ["treasury"], "source": "admin"}


def test_deactivating_someone_in_the_admin_takes_their_roles_and_staff_status_at_once(
    persona, make_user
):
    admin = persona("superuser")
    target = make_user("erin", "support")
    erins_session = Client()
    erins_session.force_login(target)

    response = admin.post(
        f"/admin/auth/user/{target.pk}/change/",
        {
            "username": "erin",
            "email": "erin@example.com",
            "is_staff": "on",
            "groups": [Group.objects.get(name="support").pk],
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "initial-date_joined_0": "2026-01-01",
            "initial-date_joined_1": "00:00:00",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    target.refresh_from_db()
    assert (target.is_active, target.is_staff, list(target.groups.all())) == (False, False, [])
    assert target not in selectors.staff_who_can_work_the_queue()
    assert erins_session.get("/").status_code == 302  # to the sign-in page: the session is over
    change = AuditEvent.objects.filter(
        action="identity.roles.changed", object_id=str(target.pk)
    ).latest("id")
    assert change.payload == {"before": ["support"], "after": [], "source": "admin"}
