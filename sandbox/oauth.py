"""The token endpoint (POST /oauth/token, Auth0 style), the JWKS, and the public health check."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Response

from sandbox.errors import OAuthError
from sandbox.routing import PUBLIC, Ctx, Route


def token(ctx: Ctx) -> Response:
    request = ctx.request
    form: dict[str, Any]
    if request.mimetype == "application/json":
        try:
            parsed = json.loads(request.get_data() or b"{}")
        except ValueError as exc:
            raise OAuthError(400, "invalid_request", "body is not valid JSON") from exc
        if not isinstance(parsed, dict):
            raise OAuthError(400, "invalid_request", "body must be a JSON object")
        form = parsed
    else:
        form = request.form.to_dict()
    result = ctx.env.auth.exchange(form, ctx.base_url)
    response = Response(json.dumps(result), mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def jwks(ctx: Ctx) -> dict[str, Any]:
    return ctx.env.auth.jwks()


def health(ctx: Ctx) -> dict[str, Any]:
    return {"status": "ok"}


ROUTES = [
    Route("/oauth/token", ("POST",), token, style=PUBLIC, family="auth"),
    Route("/.well-known/jwks.json", ("GET",), jwks, style=PUBLIC, family="auth"),
    Route("/v1/health", ("GET",), health, style=PUBLIC, family="other", limit="public"),
]
