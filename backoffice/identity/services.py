"""Sign-in services: turning an identity the proxy vouches for into a user with today's roles."""

from __future__ import annotations

from typing import NoReturn

from django.contrib.auth.models import User
from django.db import transaction

from backoffice.actors import Actor
from backoffice.audit.services import audit_record
from backoffice.identity.roles import roles_for_groups, user_apply_roles
from backoffice.identity.sso import Identity


class SignInRefused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def signin_refusal_record(*, reason: str, username: str = "", actor: Actor = None) -> None:
    """Audit a refused sign-in. `username` is the staff login the proxy or form named, if any."""
    payload = {"reason": reason}
    if username:
        payload["username"] = username[:150]
    audit_record(actor=actor, action="identity.signin.refused", payload=payload)


def user_sign_in_from_identity(*, identity: Identity) -> User:
    """The user for `identity`, created on first sight, with roles refreshed from its IdP groups.

    Raises SignInRefused (and audits it) when none of the groups maps to a role, or the user was
    deactivated here: nobody gets in with nothing, and whoever is refused keeps nothing either.
    """
    roles = roles_for_groups(identity.groups)
    if not roles:
        _refuse(username=identity.username, reason="no_mapped_group")
    if User.objects.filter(username=identity.username, is_active=False).exists():
        _refuse(username=identity.username, reason="user_deactivated")
    return _user_with_roles(identity=identity, roles=roles)


@transaction.atomic
def user_refuse(*, user: User, reason: str, actor: Actor) -> None:
    """Refuse `user` a sign-in, taking away at once every role, staff status and group they held
    (so they are no longer offered as an assignee either)."""
    user_apply_roles(user=user, roles=set(), actor=actor, source="refusal")
    signin_refusal_record(reason=reason, username=user.get_username(), actor=actor)


def _refuse(*, username: str, reason: str) -> NoReturn:
    user = User.objects.filter(username=username).first()
    if user is None:
        signin_refusal_record(reason=reason, username=username)
    else:
        user_refuse(user=user, reason=reason, actor=None)
    raise SignInRefused(reason)


@transaction.atomic
def _user_with_roles(*, identity: Identity, roles: set[str]) -> User:
    user, created = User.objects.select_for_update().get_or_create(
        username=identity.username, defaults={"email": identity.email}
    )
    if created:
        user.set_unusable_password()  # the IdP holds the credentials, never us
        user.save(update_fields=["password"])
    elif identity.email and user.email != identity.email:
        user.email = identity.email
        user.save(update_fields=["email"])
    user_apply_roles(user=user, roles=roles, actor=user, source="sso")
    return user
