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
SESSION_LAST_SEEN = "_backoffice_last_seen"
# Writing the last-seen time on every request would save the session on every request; once a
# minute is precise enough for a 30-minute idle limit.
LAST_SEEN_RESOLUTION_SECONDS = 60


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
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        request.session[SESSION_SSO_DIGEST] = digest
        return None

    @staticmethod
    def _end_session(request: HttpRequest) -> None:
        if request.user.is_authenticated and SESSION_SSO_DIGEST in request.session:
            logout(request)


class SessionExpiryMiddleware:
    """Ends a session after SESSION_IDLE_TIMEOUT_SECONDS of inactivity or
    SESSION_ABSOLUTE_TIMEOUT_SECONDS after sign-in, whichever comes first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            self._enforce(request)
        return self.get_response(request)

    def _enforce(self, request: HttpRequest) -> None:
        now = time.time()
        session = request.session
        signed_in_at = session.setdefault(SESSION_SIGNED_IN_AT, now)
        last_seen = session.setdefault(SESSION_LAST_SEEN, now)
        idle = now - last_seen > settings.SESSION_IDLE_TIMEOUT_SECONDS
        too_old = now - signed_in_at > settings.SESSION_ABSOLUTE_TIMEOUT_SECONDS
        if idle or too_old:
            audit_record(
                actor=request.user,
                action="identity.session.expired",
                payload={"limit": "idle" if idle else "absolute"},
            )
            logout(request)
            messages.info(request, "Your session expired. Please sign in again.")
        elif now - last_seen >= LAST_SEEN_RESOLUTION_SECONDS:
            session[SESSION_LAST_SEEN] = now
