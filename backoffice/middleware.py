"""Platform middleware: request identity, the Content-Security-Policy header, and a page for a
method a URL does not take."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from backoffice import context
from backoffice.network import client_ip, is_trusted_proxy

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestContextMiddleware:
    """Gives every request an id (the proxy's, when the proxy is trusted) and its client address."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        trusted = is_trusted_proxy(request.META.get("REMOTE_ADDR"))
        request_id = (
            incoming if trusted and _REQUEST_ID.match(incoming) else context.new_request_id()
        )
        with context.bound(
            context.RequestContext(
                request_id=request_id, client_ip=client_ip(request), interactive=True
            )
        ):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


class ContentSecurityPolicyMiddleware:
    """Sends the strict CONTENT_SECURITY_POLICY on every response that does not set its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response


class MethodNotAllowedPageMiddleware:
    """Django's require_POST and friends answer a wrong method with an empty 405, which a browser
    shows as a blank page (a bookmarked or reloaded address of an action does that). This gives
    it the shell, saying what happened and what the address takes; the `Allow` header stays."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code != 405 or response.content:
            return response
        allowed = response.get("Allow", "")
        page = render(
            request,
            "405.html",
            {"method": request.method, "allowed": [m.strip() for m in allowed.split(",") if m]},
        )
        # The same response, filled in: Django has logged it already and knows it has.
        response.content = page.content
        response["Content-Type"] = page["Content-Type"]
        return response
