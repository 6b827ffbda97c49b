"""One permission check for pages, menus and services, which knows the superuser exception."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.template import RequestContext, Template

from backoffice.identity.permissions import has_permission

ROOT = Path(__file__).resolve().parents[3]
SKIPPED = {
    ".venv",
    ".git",
    "staticfiles",
    "__pycache__",
    ".mypy_cache",
    "tests",
    "sandbox",
    "bench",
}
# User.has_perm and Django's permission_required say yes to a superuser for everything, reveal
# included. (Templates' `perms` is ours: backoffice.identity.permissions.perms.)
BYPASSES = re.compile(r"\.has_perms?\(|auth\.decorators import[^\n]*permission_required")


def sources():
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if SKIPPED.intersection(relative.parts) or relative.as_posix().endswith("permissions.py"):
            continue
        yield relative.as_posix(), path.read_text(encoding="utf-8")


def test_nothing_checks_a_permission_any_other_way():
    assert [name for name, text in sources() if BYPASSES.search(text)] == []


def test_the_check_would_notice_a_bypass():
    assert BYPASSES.search("if user.has_perm('participants.reveal_pii'):")
    assert BYPASSES.search(
        "from django.contrib.auth.decorators import login_required, permission_required"
    )
    assert not BYPASSES.search("has_permission(user, 'participants.reveal_pii')")
    assert any(name == "participants/views.py" for name, _ in sources())


@pytest.mark.parametrize(
    ("roles", "permission", "expected"),
    [
        (["compliance"], "participants.reveal_pii", True),
        (["superuser"], "participants.reveal_pii", False),
        (["superuser", "compliance"], "participants.reveal_pii", True),
        (["superuser"], "participants.review_duplicate", True),
        (["superuser"], "participants.change_firm", True),
        (["treasury"], "participants.view_kycsubmission", False),
        (["treasury"], "participants.view_participant", True),
        ([], "participants.view_participant", False),
    ],
)
def test_who_holds_what(make_user, roles, permission, expected):
    assert has_permission(make_user("someone", *roles), permission) is expected


def test_nobody_signed_out_or_deactivated_holds_anything(make_user):
    user = make_user("someone", "compliance")
    User.objects.filter(pk=user.pk).update(is_active=False)
    user.refresh_from_db()

    assert not has_permission(user, "participants.reveal_pii")
    assert not has_permission(user, "participants.view_participant")
    assert not has_permission(AnonymousUser(), "participants.view_participant")


def test_templates_perms_answer_as_has_permission_does(make_user, rf):
    request = rf.get("/")
    request.user = make_user("root", "superuser")
    context = Template(
        "{% if perms.participants.reveal_pii %}reveal{% endif %}"
        "{% if perms.participants.review_duplicate %} review{% endif %}"
        "{% if 'participants.reveal_pii' in perms %} in{% endif %}"
    ).render(RequestContext(request))

    assert context == " review"
