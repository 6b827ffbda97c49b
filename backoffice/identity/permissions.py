"""Who may see and do what: the one check every page, menu and service makes.

A role's permissions are its entry in BACKOFFICE_ROLES (the README's role table). Django's
superuser flag grants every permission but those in BACKOFFICE_ROLE_ONLY_PERMISSIONS, which only a
role's group grants: seeing personal data in clear is compliance's work, and an administrator who
must do it is given the compliance role, so that the grant itself is on the record.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.conf import settings
from django.contrib.auth.context_processors import PermLookupDict, PermWrapper
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from backoffice.identity.backends import grants_of

_View = TypeVar("_View", bound=Callable[..., Any])


def has_permission(user: AbstractBaseUser | AnonymousUser | None, permission: str) -> bool:
    """True when `user` may do what `permission` ("app_label.codename") guards."""
    if not isinstance(user, User) or not user.is_active:
        return False
    if permission in settings.BACKOFFICE_ROLE_ONLY_PERMISSIONS:
        return any(permission in settings.BACKOFFICE_ROLES[role] for role in _group_roles(user))
    return user.has_perm(permission)


def _group_roles(user: User) -> set[str]:
    # Read with the permissions, once a request (backends.py).
    return set(grants_of(user).groups) & set(settings.BACKOFFICE_ROLES)


def permission_required(permission: str, *, message: str = "") -> Callable[[_View], _View]:
    """Refuses (403, audited by the refusal page, saying `message`) whoever lacks `permission`."""

    def decorator(view: _View) -> _View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if not has_permission(request.user, permission):
                raise PermissionDenied(message)
            return view(request, *args, **kwargs)

        return cast(_View, guarded)

    return decorator


class _AppPermissions(PermLookupDict):
    def __getitem__(self, codename: str) -> bool:
        return has_permission(self.user, f"{self.app_label}.{codename}")


class RolePermissions(PermWrapper):
    """`perms` in templates, answering as has_permission does (Django's would say yes to a
    superuser for everything)."""

    def __getitem__(self, app_label: str) -> _AppPermissions:
        return _AppPermissions(self.user, app_label)


def perms(request: HttpRequest) -> dict[str, RolePermissions]:
    """Context processor listed after Django's `auth`, whose `perms` it replaces."""
    return {"perms": RolePermissions(getattr(request, "user", AnonymousUser()))}
