"""Local (password) sign-in, for development and the demo."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from backoffice.audit.models import AuditEvent

PASSWORD = "correct horse battery staple"


@pytest.fixture
def local_mode(settings):
    settings.SSO_MODE = "local"


def sign_in(username: str, password: str = PASSWORD):
    client = Client()
    return client, client.post("/signin/", {"username": username, "password": password})


def test_a_user_with_a_role_signs_in_with_a_password(local_mode, make_user):
    user = make_user("carol", "compliance")

    client, response = sign_in("carol")

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(user.pk)
    assert AuditEvent.objects.filter(action="identity.signin", actor=user).exists()


def test_a_user_without_a_role_is_refused(local_mode, make_user):
    dave = make_user("dave")
    User.objects.filter(pk=dave.pk).update(is_staff=True)  # staff once, holding no role now

    client, response = sign_in("dave")

    assert response.status_code == 200
    assert "Your account holds no back-office role" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.get(action="identity.signin.refused").payload == {
        "reason": "no_mapped_group",
        "username": "dave",
    }
    dave.refresh_from_db()
    assert not dave.is_staff


def test_a_wrong_password_is_refused_and_audited(local_mode, make_user):
    make_user("carol", "compliance")

    client, response = sign_in("carol", "wrong")

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.get(action="identity.signin.failed").payload == {"username": "carol"}


def test_password_sign_in_is_closed_in_sso_modes(db, make_user):
    make_user("carol", "compliance")

    client, response = sign_in("carol")

    assert response.status_code == 401
    assert "single sign-on" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_admin_has_no_password_form_of_its_own(db):
    response = Client().get("/admin/login/?next=/admin/")

    assert response.status_code == 302
    assert response["Location"] == "/signin/?next=/admin/"
