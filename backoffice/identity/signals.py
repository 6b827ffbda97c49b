"""Audit of sign-ins and sign-outs, whichever way they happen."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from backoffice.audit.services import audit_record
from backoffice.identity import middleware


@receiver(user_logged_in)
def _signed_in(sender: Any, request: HttpRequest, user: AbstractBaseUser, **_: Any) -> None:
    # The session is good for this mode only: see SessionExpiryMiddleware.
    request.session[middleware.SESSION_SIGNED_IN_AT] = middleware.now()
    request.session[middleware.SESSION_SIGN_IN_MODE] = settings.SSO_MODE
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
