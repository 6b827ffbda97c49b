"""Who an action is done for: a signed-in staff member, or None for system work (whose origin,
"command:kyc_sync" or "webhook:kyc", the request context names)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

Actor = AbstractBaseUser | AnonymousUser | None
