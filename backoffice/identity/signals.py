"""Audit of sign-ins and sign-outs, whichever way they happen."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from backoffice.audit.services import audit_record
from backoffice.identity.middleware import SESSION_LAST_SEEN, SESSION_SIGNED_IN_AT


@receiver(user_logged_in)
def _signed_in(sender: Any, request: HttpRequest, user: AbstractBaseUser, **_: Any) -> None:
    now = time.time()
    request.session[SESSION_SIGNED_IN_AT] = now
    request.session[SESSION_LAST_SEEN] = now
    audit_record(actor=user, action="identity.signin", payload={"mode": settings.SSO_MODE})


@receiver(user_logged_out)
def _signed_out(sender: Any, request: HttpRequest, user: AbstractBaseUser | None, **_: Any) -> None:
    if user is not None:
        audit_record(actor=user, action="identity.signout")


@receiver(user_login_failed)
def _sign_in_failed(sender: Any, credentials: dict[str, Any], **_: Any) -> None:
    # Django has already replaced the password with asterisks; the username is a staff login.
    username = str(credentials.get("username", ""))[:150]
    audit_record(actor=None, action="identity.signin.failed", payload={"username": username})
