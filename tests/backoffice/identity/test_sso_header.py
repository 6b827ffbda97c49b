"""Trusted-header sign-in: believed from the proxy's addresses only."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from backoffice.audit.models import AuditEvent
from participants import selectors

PROXY = "10.9.0.5"  # inside SSO_TRUSTED_PROXIES of tests/test.env


@pytest.fixture
def proxied():
    def request(
        groups: str, user: str = "alice", remote_addr: str = PROXY, client: Client | None = None
    ):
        client = client or Client()
        response = client.get(
            "/",
            REMOTE_ADDR=remote_addr,
            HTTP_X_FORWARDED_USER=user,
            HTTP_X_FORWARDED_EMAIL=f"{user}@corp.example",
            HTTP_X_FORWARDED_GROUPS=groups,
        )
        return client, response

    return request


def test_the_proxy_signs_in_the_right_user_with_the_right_roles(db, proxied):
    _, response = proxied("backoffice-compliance,backoffice-supervisor,engineering")

    assert response.status_code == 200
    user = User.objects.get(username="alice")
    assert user.email == "alice@corp.example"
    assert sorted(user.groups.values_list("name", flat=True)) == ["compliance", "supervisor"]
    assert user.is_staff
    assert not user.is_superuser
    assert not user.has_usable_password()
    assert AuditEvent.objects.filter(action="identity.signin", actor=user).count() == 1


def test_the_admin_group_makes_a_superuser(db, proxied):
    proxied("backoffice-admin")

    assert User.objects.get(username="alice").is_superuser


def test_a_spoofed_header_from_an_untrusted_address_signs_nobody_in(db, proxied):
    _, response = proxied("backoffice-admin", remote_addr="203.0.113.7")

    assert response.status_code == 302  # to the sign-in page, as for anyone anonymous
    assert not User.objects.filter(username="alice").exists()
    refusal = AuditEvent.objects.get(action="identity.signin.refused")
    assert refusal.payload == {"reason": "untrusted_source"}
    assert refusal.client_ip == "203.0.113.7"


def test_a_person_with_no_mapped_group_is_refused_with_a_clear_page(db, proxied):
    client, response = proxied("engineering,everyone")

    assert response.status_code == 403
    assert "none of your groups grants a back-office role" in response.content.decode()
    assert "_auth_user_id" not in client.session
    refusal = AuditEvent.objects.get(action="identity.signin.refused")
    assert refusal.payload == {"reason": "no_mapped_group", "username": "alice"}
    assert not User.objects.filter(username="alice").exists()


def test_group_membership_is_refreshed_when_the_idp_changes_it(db, proxied):
    client, _ = proxied("backoffice-support")
    _, response = proxied("backoffice-treasury", client=client)

    assert response.status_code == 200
    user = User.objects.get(username="alice")
    assert list(user.groups.values_list("name", flat=True)) == ["treasury"]
    change = AuditEvent.objects.filter(action="identity.roles.changed").latest("id")
    assert change.payload == {"before": ["support"], "after": ["treasury"], "source": "sso"}


def test_losing_every_mapped_group_ends_access(db, proxied):
    client, _ = proxied("backoffice-support")
    _, response = proxied("engineering", client=client)

    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_when_the_proxy_stops_vouching_the_session_ends(db, proxied):
    client, _ = proxied("backoffice-support")

    response = client.get("/", REMOTE_ADDR=PROXY)

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_a_session_already_signed_in_costs_no_extra_queries(
    db, proxied, persona, django_assert_num_queries
):
    client, _ = proxied("backoffice-support")
    signed_in_without_sso = persona("support")
    # session, user, roles, the permissions, onboarding's counts, and trading's (feed, day, open
    # orders)
    with django_assert_num_queries(8) as home:
        signed_in_without_sso.get("/")

    with django_assert_num_queries(len(home.captured_queries)):
        proxied("backoffice-support", client=client)


def test_whoever_is_refused_loses_roles_groups_and_staff_status_at_once(db, proxied):
    client, _ = proxied("backoffice-support,backoffice-admin")
    alice = User.objects.get(username="alice")
    assert alice in selectors.staff_who_can_work_the_queue()

    _, response = proxied("engineering", client=client)

    assert response.status_code == 403
    alice.refresh_from_db()
    assert (alice.is_staff, alice.is_superuser, list(alice.groups.all())) == (False, False, [])
    assert alice not in selectors.staff_who_can_work_the_queue()
    change = AuditEvent.objects.filter(action="identity.roles.changed").latest("id")
    assert change.payload == {
        "before": ["superuser", "support"],
        "after": [],
        "source": "refusal",
    }
    refusal = AuditEvent.objects.get(action="identity.signin.refused")
    assert refusal.payload == {"reason": "no_mapped_group", "username": "alice"}


def test_a_deactivated_user_is_refused_and_keeps_nothing(db, proxied):
    proxied("backoffice-compliance")
    User.objects.filter(username="alice").update(is_active=False)

    _, response = proxied("backoffice-compliance")

    assert response.status_code == 403
    alice = User.objects.get(username="alice")
    assert (alice.is_staff, list(alice.groups.all())) == (False, [])
