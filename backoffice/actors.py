"""Who an action is done for: a signed-in staff member, or None for system work (whose origin,
"command:kyc_sync" or "webhook:kyc", the request context names); and the seed actor, the author of
`make run`'s demo data where a record needs a user."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User

Actor = AbstractBaseUser | AnonymousUser | None

SEED_USERNAME = "demo-seed"


def seed_actor() -> User:
    """A user that is no person: no role, no password, inactive (so it cannot sign in, holds no
    permission and is never offered as an assignee). Demo records credited to it cannot be read
    as the work of someone who signs in, as they could if the demo's `support` made them."""
    user, created = User.objects.get_or_create(
        username=SEED_USERNAME, defaults={"is_active": False}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user
