"""The WSGI application: routing and, in one place, every check a call passes before its handler.

Order per call: route match -> injected faults -> caller (bearer token or admin token) -> scope ->
x-participant-id -> per-firm rate limit -> handler -> JSON. Errors are rendered in the dialect of the
route (grpc-gateway for REST, Connect for the partner services, Auth0 for the token endpoint).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import re
import socket
import time
from collections.abc import Iterable
from functools import partial
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from sandbox import (
    admin,
    book,
    errors,
    identity,
    kyc,
    ledger_reads,
    market,
    money,
    oauth,
    orders,
    positions,
    report_downloads,
    reports,
    trade_stats,
    valuations,
    vendor,
    webhooks,
)
from sandbox.auth import TokenAuthority
from sandbox.config import Settings
from sandbox.env import Env
from sandbox.errors import ApiError, Code, OAuthError
from sandbox.faults import STATUS_CODES, Faults
from sandbox.ratelimit import RateLimiter
from sandbox.routing import (
    ADMIN,
    CONNECT,
    PID_IGNORED,
    PID_OPTIONAL,
    PID_REQUIRED,
    PUBLIC,
    REST,
    Ctx,
    Route,
)
from sandbox.store import Store
from sandbox.streams.control import Streams
from sandbox.worker import Worker

log = logging.getLogger("sandbox")
# Every module that serves part of the API, each with its ROUTES.
ROUTE_MODULES = (
    oauth,
    identity,
    kyc,
    money,
    market,
    positions,
    ledger_reads,
    orders,
    vendor,
    reports,
    report_downloads,
    trade_stats,
    valuations,
    admin,
)
PARTICIPANT_RE = re.compile(r"^firms/([^/]+)/users/([^/]+)$")


class Sandbox:
    """One sandbox exchange: state, background worker and the WSGI callable."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store(settings.data_dir)
        self.worker = Worker(settings.worker_interval, on_exit=self.store.close)
        self.env = Env(
            store=self.store,
            settings=settings,
            faults=Faults(),
            auth=TokenAuthority(self.store, settings),
            limiter=RateLimiter(settings.rate_limits),
            streams=Streams(
                self.store, cap=settings.stream_cap, token_ttl=settings.resume_token_ttl
            ),
            wake=self.worker.wake,
            tick=self.worker.run_once,
        )
        self.worker.tasks = (
            partial(kyc.provision_due, self.env),
            partial(money.settle_due, self.env),
            partial(book.expire_due, self.store),
            partial(webhooks.deliver_due, self.env),
        )
        routes: list[Route] = []
        for module in ROUTE_MODULES:
            routes.extend(module.ROUTES)
        self.routes = {f"r{i}": route for i, route in enumerate(routes)}
        self.url_map = Map(
            [Rule(r.path, endpoint=key, methods=list(r.methods)) for key, r in self.routes.items()],
            strict_slashes=False,
            merge_slashes=False,
        )
        market.seed(self.env)

    # ---- lifecycle ----

    def start_background(self) -> None:
        self.worker.start()

    def stop_background(self) -> None:
        self.worker.stop()

    # ---- WSGI ----

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        response = self.dispatch(request)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except NotFound:
            style = CONNECT if request.path.startswith("/polymarket.") else REST
            return self.render_error(style, ApiError(Code.NOT_FOUND, "Not Found"))
        except MethodNotAllowed:
            body = {"code": 12, "message": "Method Not Allowed", "details": []}
            return Response(json.dumps(body), status=405, mimetype="application/json")
        except HTTPException as exc:  # redirects for slashes and the like
            return exc.get_response(request.environ)
        route = self.routes[str(endpoint)]
        ctx = Ctx(env=self.env, request=request, route=route, args=dict(args))
        try:
            injected = self.inject_faults(ctx)
            if injected is not None:
                return injected
            self.authenticate(ctx)
            result = route.handler(ctx)
        except ApiError as exc:
            return self.render_error(route.style, exc)
        except OAuthError as exc:
            return exc.response()
        except Exception:
            log.exception("unhandled error in %s %s", request.method, request.path)
            return self.render_error(route.style, ApiError(Code.INTERNAL, "internal error"))
        if isinstance(result, Response):
            return result
        response = Response(json.dumps(result), mimetype="application/json")
        if self.env.faults.draw(route.family, {"malformed"}) is not None:
            response.set_data(b'{"code": 0, "message": "truncated' + b"\x00\xff")
        return response

    def render_error(self, style: str, error: ApiError) -> Response:
        if style == CONNECT:
            return errors.connect_error(error)
        return errors.gateway_error(error)

    # ---- checks ----

    def inject_faults(self, ctx: Ctx) -> Response | None:
        if ctx.route.style == ADMIN:
            return None
        family = ctx.route.family
        latency = self.env.faults.draw(family, {"latency"})
        if latency is not None:
            time.sleep(latency.latency_ms / 1000)
        if self.env.faults.draw(family, {"drop"}) is not None:
            sock = ctx.request.environ.get("werkzeug.socket")
            if isinstance(sock, socket.socket):
                # Half-close both ways: the client sees the connection end with no response, and
                # the server's later write fails quietly as a dropped connection.
                sock.shutdown(socket.SHUT_RDWR)
            return Response(b"", status=500)
        limited = self.env.faults.draw(family, {"rate_limit"})
        if limited is not None:
            error = ApiError(Code.RESOURCE_EXHAUSTED, "rate limit exceeded")
            error.retry_after = limited.retry_after
            return self.render_error(ctx.route.style, error)
        failing = self.env.faults.draw(family, {"error"})
        if failing is not None:
            code = Code(STATUS_CODES[failing.status])
            response = self.render_error(ctx.route.style, ApiError(code, "injected fault"))
            response.status_code = failing.status
            return response
        return None

    def authenticate(self, ctx: Ctx) -> None:
        route, request = ctx.route, ctx.request
        if route.style == PUBLIC:
            if route.limit:
                retry = self.env.limiter.take("ip:" + str(request.remote_addr), route.limit)
                if retry is not None:
                    raise ApiError(
                        Code.RESOURCE_EXHAUSTED, "rate limit exceeded", retry_after=retry
                    )
            return
        if route.style == ADMIN:
            self.check_admin(request)
            return
        caller = self.env.auth.verify_bearer(request.headers.get("Authorization"), ctx.base_url)
        ctx.caller = caller
        if route.scope and route.scope not in caller.scopes:
            raise ApiError(
                Code.PERMISSION_DENIED, f"permission denied: missing required scope {route.scope}"
            )
        header = request.headers.get("x-participant-id")
        if route.pid == PID_REQUIRED or (route.pid == PID_OPTIONAL and header):
            ctx.participant = self.check_participant(caller.firm_id, header)
        retry = self.env.limiter.take("firm:" + caller.firm_id, route.limit)
        if retry is not None:
            raise ApiError(Code.RESOURCE_EXHAUSTED, "rate limit exceeded", retry_after=retry)
        assert route.pid in {PID_REQUIRED, PID_OPTIONAL, PID_IGNORED}

    def check_participant(self, firm_id: str, header: str | None) -> Any:
        if not header:
            raise ApiError(
                Code.PERMISSION_DENIED, "permission denied: x-participant-id is required"
            )
        match = PARTICIPANT_RE.match(header.strip())
        if match is None:
            raise ApiError(Code.PERMISSION_DENIED, "permission denied: malformed x-participant-id")
        row = self.store.db.execute(
            "SELECT * FROM participants WHERE participant_id = ?", (header.strip(),)
        ).fetchone()
        if row is None or row["firm_id"] != firm_id:
            raise ApiError(
                Code.PERMISSION_DENIED, "permission denied: participant does not belong to the firm"
            )
        return row

    def check_admin(self, request: Request) -> None:
        token = self.settings.admin_token
        if token:
            given = request.headers.get("x-sandbox-admin-token", "")
            auth = request.headers.get("Authorization", "")
            if auth.lower().startswith("bearer ") and not given:
                given = auth[7:].strip()
            if not hmac.compare_digest(given.encode(), token.encode()):
                raise ApiError(Code.UNAUTHENTICATED, "admin token required for /_sandbox/")
            return
        try:
            loopback = ipaddress.ip_address(str(request.remote_addr)).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ApiError(Code.PERMISSION_DENIED, "/_sandbox/ is open to loopback callers only")
