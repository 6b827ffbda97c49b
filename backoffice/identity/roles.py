"""Roles: IdP groups map to back-office roles, and each role is a Django group with permissions.

The mapping (SSO_GROUP_ROLES) and the permissions of each role (BACKOFFICE_ROLES) live in settings;
this module keeps the database in step with them and applies a person's roles at sign-in.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.db import transaction

from backoffice.actors import Actor
from backoffice.audit.services import audit_record
from backoffice.identity.backends import forget_grants

SUPERUSER = "superuser"


def role_names() -> list[str]:
    return [*settings.BACKOFFICE_ROLES, SUPERUSER]


def roles_for_groups(idp_groups: Iterable[str]) -> set[str]:
    """The roles a set of IdP groups grants; groups the mapping does not name grant nothing."""
    mapping: dict[str, str] = settings.SSO_GROUP_ROLES
    known = set(role_names())
    return {mapping[group] for group in idp_groups if mapping.get(group) in known}


def roles_of(user: User) -> set[str]:
    roles = {group.name for group in user.groups.all() if group.name in settings.BACKOFFICE_ROLES}
    if user.is_superuser:
        roles.add(SUPERUSER)
    return roles


def sync_role_groups(**_: Any) -> None:
    """Create each role's group and give it exactly the permissions settings list (post_migrate)."""
    for role, perms in settings.BACKOFFICE_ROLES.items():
        group, _created = Group.objects.get_or_create(name=role)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".", 1)
            permission = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if permission is not None:  # an app not migrated yet; the next migrate adds it
                wanted.append(permission)
        group.permissions.set(wanted)


def audit_role_change(
    *, user: User, before: set[str], after: set[str], actor: Actor, source: str
) -> None:
    if before != after:
        audit_record(
            actor=actor,
            action="identity.roles.changed",
            target=user,
            payload={"before": sorted(before), "after": sorted(after), "source": source},
        )


@transaction.atomic
def user_apply_roles(*, user: User, roles: set[str], actor: Actor, source: str) -> None:
    """Make `user` hold exactly `roles`; every back-office user may open the admin it is allowed."""
    before = roles_of(user)
    _set_roles(user, roles)
    audit_role_change(user=user, before=before, after=roles_of(user), actor=actor, source=source)


def user_strip_roles(*, user: User) -> None:
    """Take every role, group and staff status away; the caller audits the change it is part of."""
    _set_roles(user, set())


def _set_roles(user: User, roles: set[str]) -> None:
    user.groups.set(Group.objects.filter(name__in=roles & set(settings.BACKOFFICE_ROLES)))
    user.is_superuser = SUPERUSER in roles
    user.is_staff = bool(roles)
    user.save(update_fields=["is_superuser", "is_staff"])
    forget_grants(user)
