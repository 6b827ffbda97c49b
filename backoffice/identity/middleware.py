"""Sign-in behind the SSO proxy, and the idle and absolute limits of a session."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from backoffice.audit.services import audit_record
from backoffice.identity.services import (
    SignInRefused,
    signin_refusal_record,
    user_sign_in_from_identity,
)
from backoffice.identity.sso import IdentityRefused, identity_from_request

logger = logging.getLogger(__name__)

SESSION_SSO_DIGEST = "_backoffice_sso_digest"
SESSION_SIGNED_IN_AT = "_backoffice_signed_in_at"
SESSION_SIGN_IN_MODE = "_backoffice_sign_in_mode"
# The time of a person's latest request travels in a cookie signed for their session, rewritten on
# every response: the idle limit holds to the second without writing the session row on every
# request. A missing or foreign cookie counts as no activity since sign-in (never as more).
LAST_SEEN_COOKIE = "backoffice_last_seen"


def now() -> float:
    """The clock the session limits are measured by (one function, so tests can move it)."""
    return time.time()


def _digest(username: str, groups: tuple[str, ...]) -> str:
    return hashlib.sha256("\n".join([username, *groups]).encode()).hexdigest()


class SingleSignOnMiddleware:
    """Signs in whoever the SSO proxy vouches for, refreshing roles whenever its groups change.

    In local mode it does nothing (Django's password sign-in is used). A request without an
    identity ends any SSO session, so that signing out at the proxy signs out here too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.SSO_MODE in {"assertion", "header"}:
            refusal = self._sign_in(request)
            if refusal is not None:
                return refusal
        return self.get_response(request)

    def _sign_in(self, request: HttpRequest) -> HttpResponse | None:
        try:
            identity = identity_from_request(request)
        except IdentityRefused as exc:
            logger.warning("SSO identity refused: %s", exc.reason)
            signin_refusal_record(reason=exc.reason)
            self._end_session(request)
            return None
        if identity is None:
            self._end_session(request)
            return None
        digest = _digest(identity.username, identity.groups)
        if request.user.is_authenticated and request.session.get(SESSION_SSO_DIGEST) == digest:
            return None
        try:
            user = user_sign_in_from_identity(identity=identity)
        except SignInRefused as exc:
            self._end_session(request)
            return render(request, "identity/refused.html", {"reason": exc.reason}, status=403)
        if request.user.is_authenticated and request.user.pk == user.pk:
            request.user = user  # same session, roles refreshed
        else:
            login(request, user, backend="backoffice.identity.backends.RoleBackend")
        request.session[SESSION_SSO_DIGEST] = digest
        return None

    @staticmethod
    def _end_session(request: HttpRequest) -> None:
        if request.user.is_authenticated and SESSION_SSO_DIGEST in request.session:
            logout(request)


class SessionExpiryMiddleware:
    """Ends a session after SESSION_IDLE_TIMEOUT_SECONDS without a request, or
    SESSION_ABSOLUTE_TIMEOUT_SECONDS after sign-in, whichever comes first, and any session another
    sign-in mode created (a password session is worth nothing on an instance behind SSO).

    Each end is audited and explained by a message on the next page (the sign-in page, or behind
    SSO the page the person lands on once the proxy has signed them in again).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        at = now()
        if request.user.is_authenticated:
            self._enforce(request, at)
        response = self.get_response(request)
        if request.user.is_authenticated and request.session.session_key:
            response.set_signed_cookie(
                LAST_SEEN_COOKIE,
                repr(at),
                salt=request.session.session_key,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        elif LAST_SEEN_COOKIE in request.COOKIES:
            response.delete_cookie(LAST_SEEN_COOKIE, samesite="Lax")
        return response

    def _enforce(self, request: HttpRequest, at: float) -> None:
        session = request.session
        mode = session.get(SESSION_SIGN_IN_MODE, "")
        if mode != settings.SSO_MODE:
            self._end(request, {"reason": "other_sign_in_mode", "mode": str(mode)[:16]}, "")
            return
        signed_in_at = float(session.setdefault(SESSION_SIGNED_IN_AT, at))
        last_seen = max(signed_in_at, _last_seen(request))
        idle_limit = settings.SESSION_IDLE_TIMEOUT_SECONDS
        absolute_limit = settings.SESSION_ABSOLUTE_TIMEOUT_SECONDS
        if at - signed_in_at >= absolute_limit:
            self._end(
                request,
                {"limit": "absolute"},
                f"Your session reached its limit of {_duration(absolute_limit)} after sign-in.",
            )
        elif at - last_seen >= idle_limit:
            self._end(
                request,
                {"limit": "idle"},
                f"Your session ended after {_duration(idle_limit)} without activity.",
            )

    @staticmethod
    def _end(request: HttpRequest, payload: dict[str, str], why: str) -> None:
        action = "identity.session.expired" if "limit" in payload else "identity.session.ended"
        audit_record(actor=request.user, action=action, payload=payload)
        logout(request)
        messages.info(request, f"{why} Please sign in again." if why else "Please sign in again.")


def _last_seen(request: HttpRequest) -> float:
    key = request.session.session_key
    if not key:
        return 0.0
    value = request.get_signed_cookie(LAST_SEEN_COOKIE, default="", salt=key)
    try:
        return float(value or "")
    except ValueError:
        return 0.0


def _duration(seconds: int) -> str:
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"
