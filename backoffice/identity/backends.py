"""Django's ModelBackend, reading what a person may do in one query per request instead of three.

Every staff page checks permissions, and many check a role-only one too (permissions.py), so
Django's reads (the person's own permissions, their groups' permissions) and the role groups'
names were three queries on every page. Here one query reads the groups with their permissions
and the person's own permissions together; the answer is kept on the user object for the request,
as Django keeps its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission, User
from django.db.models import CharField, Value

_CACHE = "_backoffice_grants"


@dataclass(frozen=True)
class Grants:
    groups: frozenset[str]
    permissions: frozenset[str]  # "app_label.codename"


def grants_of(user: User) -> Grants:
    """The user's groups and every permission they and their groups hold (one query, then
    cached on `user`)."""
    cached: Grants | None = getattr(user, _CACHE, None)
    if cached is not None:
        return cached
    groups = (
        Group.objects.filter(user=user)
        .order_by()
        .values_list("name", "permissions__content_type__app_label", "permissions__codename")
    )
    own = (
        Permission.objects.filter(user=user)
        .order_by()
        .annotate(no_group=Value("", output_field=CharField()))
        .values_list("no_group", "content_type__app_label", "codename")
    )
    names: set[str] = set()
    permissions: set[str] = set()
    for group, app_label, codename in groups.union(own, all=True):
        if group:
            names.add(group)
        if codename is not None:
            permissions.add(f"{app_label}.{codename}")
    grants = Grants(frozenset(names), frozenset(permissions))
    setattr(user, _CACHE, grants)
    return grants


def forget_grants(user: User) -> None:
    """After the user's groups changed: the next check reads them again."""
    if hasattr(user, _CACHE):
        delattr(user, _CACHE)


class RoleBackend(ModelBackend):
    def get_all_permissions(
        self, user_obj: AbstractBaseUser | AnonymousUser, obj: Any = None
    ) -> set[str]:
        if not isinstance(user_obj, User) or not user_obj.is_active or obj is not None:
            return set()
        if user_obj.is_superuser:  # every permission there is, as Django answers
            return super().get_all_permissions(user_obj, obj)
        return set(grants_of(user_obj).permissions)
