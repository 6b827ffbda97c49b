"""/_sandbox/: the operator surface of the sandbox (JSON), outside the exchange's API.

Guarded by the admin token when one is configured (--admin-token / SANDBOX_ADMIN_TOKEN, sent as
`x-sandbox-admin-token` or `Authorization: Bearer`), else open to loopback callers only. An exchange
access token alone never opens it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox import book, firms, instruments, kyc, market, money, settlement, webhooks, wire
from sandbox.errors import invalid
from sandbox.routing import ADMIN, Ctx, Route


def _str(body: dict[str, Any], name: str) -> str:
    value = wire.text(body.get(name), name).strip()
    if not value:
        raise invalid(f"{name} is required")
    return value


def firm_create(ctx: Ctx) -> dict[str, Any]:
    return firms.firm_upsert(ctx.env.store, ctx.body())


def firm_get(ctx: Ctx) -> dict[str, Any]:
    return firms.firm_json(ctx.db, ctx.args["firm_id"])


def firm_fund(ctx: Ctx) -> dict[str, Any]:
    amount = wire.money(ctx.body().get("amount"), "amount")
    return firms.firm_fund(ctx.env.store, ctx.args["firm_id"], amount)


def firm_disable(ctx: Ctx) -> dict[str, Any]:
    disabled = wire.boolean(ctx.body().get("disabled", True), "disabled")
    with ctx.env.store.write() as db:
        firms.firm_row(db, ctx.args["firm_id"])
        db.execute(
            "UPDATE firms SET disabled = ? WHERE firm_id = ?", (int(disabled), ctx.args["firm_id"])
        )
    return firms.firm_json(ctx.db, ctx.args["firm_id"])


def docv_complete(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    return kyc.admin_docv_complete(ctx.env, _str(body, "firm_id"), _str(body, "external_id"))


def review(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    decision = _str(body, "decision").lower()
    return kyc.admin_review(ctx.env, _str(body, "firm_id"), _str(body, "external_id"), decision)


def evaluations(ctx: Ctx) -> dict[str, Any]:
    return kyc.admin_evaluations(
        ctx.env, ctx.query("firm_id") or "", ctx.query("external_id") or ""
    )


def cash_movements(ctx: Ctx) -> dict[str, Any]:
    return money.admin_movements(
        ctx.env, ctx.query("firm_id") or "", ctx.query("idempotency_key") or ""
    )


def webhook_list(ctx: Ctx) -> dict[str, Any]:
    sql, params = "SELECT * FROM webhook_deliveries WHERE 1 = 1", []
    if ctx.query("firm_id"):
        sql += " AND firm_id = ?"
        params.append(ctx.query("firm_id"))
    if ctx.query("event_type"):
        sql += " AND event_type = ?"
        params.append(ctx.query("event_type"))
    rows = ctx.db.execute(sql + " ORDER BY seq", params).fetchall()
    return {"deliveries": [webhooks.delivery_json(r) for r in rows]}


def tick(ctx: Ctx) -> dict[str, Any]:
    """Run the background tasks once now (tests use it instead of waiting)."""
    ctx.env.tick()
    return {}


def faults_get(ctx: Ctx) -> dict[str, Any]:
    return {"faults": ctx.env.faults.list()}


def faults_add(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    listed = body.get("faults")
    items: list[Any] = listed if isinstance(listed, list) else [body]
    added = [ctx.env.faults.add(item).public() for item in items]
    return {"faults": added}


def faults_clear(ctx: Ctx) -> dict[str, Any]:
    ctx.env.faults.clear()
    return {"faults": []}


def config(ctx: Ctx) -> dict[str, Any]:
    settings = ctx.env.settings
    if ctx.request.method == "PATCH":
        body = ctx.body()
        if "rate_limits" in body:
            settings.rate_limits = wire.boolean(body["rate_limits"], "rateLimits")
            ctx.env.limiter.enabled = settings.rate_limits
            ctx.env.limiter.reset()
        if "token_expires_in" in body:
            settings.token_expires_in = wire.int64(body["token_expires_in"], "tokenExpiresIn")
        if "provisioning_delay" in body:
            settings.provisioning_delay = float(body["provisioning_delay"])
        if "webhook_backoff" in body:
            settings.webhook_backoff = tuple(float(x) for x in body["webhook_backoff"])
        if "funding_stream_transfers" in body:
            settings.funding_stream_transfers = wire.boolean(
                body["funding_stream_transfers"], "fundingStreamTransfers"
            )
    return {
        "baseUrl": settings.base_url,
        "tokenUrl": settings.token_url,
        "rateLimits": settings.rate_limits,
        "tokenExpiresIn": settings.token_expires_in,
        "provisioningDelay": settings.provisioning_delay,
        "webhookBackoff": list(settings.webhook_backoff),
        "adminToken": bool(settings.admin_token),
        "grpcPort": settings.grpc_port,
        "fundingStreamTransfers": settings.funding_stream_transfers,
    }


def streams_list(ctx: Ctx) -> dict[str, Any]:
    return {"streams": ctx.env.streams.listing()}


def streams_drop(ctx: Ctx) -> dict[str, Any]:
    """Every open stream ends UNAVAILABLE now, as when the exchange's load balancer goes away."""
    return {"dropped": ctx.env.streams.drop_all()}


def streams_expire_tokens(ctx: Ctx) -> dict[str, Any]:
    """Every resume token issued so far is refused (INVALID_ARGUMENT) from now on."""
    ctx.env.streams.tokens.expire_all()
    return {}


def instrument_add(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    with ctx.env.store.write() as db:
        market.add_instrument(db, body)
        if wire.boolean(body.get("house_liquidity", True), "houseLiquidity"):
            book.house_quote(db, str(body["symbol"]))
        row = instruments.instrument_row(db, str(body["symbol"]))
    return market.instrument_json(row, ctx.env.settings.emit_zero_enums)


def instrument_settle(ctx: Ctx) -> dict[str, Any]:
    return settlement.settle(ctx.env.store, ctx.args["symbol"], ctx.body())


def trade_bust(ctx: Ctx) -> dict[str, Any]:
    return settlement.bust_trade(ctx.env.store, ctx.args["trade_id"])


def adjust(ctx: Ctx) -> dict[str, Any]:
    return settlement.manual_adjustment(ctx.env.store, ctx.body())


def unrequested_deposit(ctx: Ctx) -> dict[str, Any]:
    return settlement.unrequested_deposit(ctx.env.store, ctx.body())


def suspend(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    account = _str(body, "account")
    suspended = wire.boolean(body.get("suspended", True), "suspended")
    with ctx.env.store.write() as db:
        db.execute("UPDATE accounts SET suspended = ? WHERE account = ?", (int(suspended), account))
    return {"account": account, "suspended": suspended}


def vendor_fees_report(ctx: Ctx) -> dict[str, Any]:
    day = ctx.query("business_date") or wire.business_date().isoformat()
    rows = ctx.db.execute(
        "SELECT v.*, o.state, o.cum_qty FROM vendor_orders v LEFT JOIN orders o ON o.id = v.order_id "
        "WHERE v.business_date = ? AND v.status = 'ACCEPTED' ORDER BY v.created_at",
        (day,),
    ).fetchall()
    lines: list[dict[str, Any]] = []
    totals: dict[str, Decimal] = {}
    for r in rows:
        trades = ctx.db.execute(
            "SELECT DISTINCT trade_id FROM executions WHERE order_id = ? AND trade_id != ''",
            (r["order_id"],),
        ).fetchall()
        lines.append(
            {
                "business_date": day,
                "account": r["account"],
                "order_id": r["order_id"],
                "clord_id": r["clord_id"],
                "order_status": r["state"] or "",
                "trade_ids": [t["trade_id"] for t in trades],
                "vendor_fee": r["vendor_fee"],
                "currency": r["currency"],
            }
        )
        totals[r["account"]] = totals.get(r["account"], Decimal(0)) + Decimal(r["vendor_fee"])
    summary = [
        {"account": a, "net_vendor_fees": wire.fmt_money(t), "currency": "USD"}
        for a, t in totals.items()
    ]
    return {"rows": lines, "summary": summary}


def _admin(path: str, methods: tuple[str, ...], handler: Any) -> Route:
    return Route(path, methods, handler, style=ADMIN, family="admin")


ROUTES = [
    _admin("/_sandbox/firms", ("POST",), firm_create),
    _admin("/_sandbox/firms/<firm_id>", ("GET",), firm_get),
    _admin("/_sandbox/firms/<firm_id>/fund", ("POST",), firm_fund),
    _admin("/_sandbox/firms/<firm_id>/disable", ("POST",), firm_disable),
    _admin("/_sandbox/kyc/docv-complete", ("POST",), docv_complete),
    _admin("/_sandbox/kyc/review", ("POST",), review),
    _admin("/_sandbox/kyc/evaluations", ("GET",), evaluations),
    _admin("/_sandbox/cash-movements", ("GET",), cash_movements),
    _admin("/_sandbox/webhooks", ("GET",), webhook_list),
    _admin("/_sandbox/tick", ("POST",), tick),
    _admin("/_sandbox/faults", ("GET",), faults_get),
    _admin("/_sandbox/faults", ("POST",), faults_add),
    _admin("/_sandbox/faults", ("DELETE",), faults_clear),
    _admin("/_sandbox/config", ("GET", "PATCH"), config),
    _admin("/_sandbox/streams", ("GET",), streams_list),
    _admin("/_sandbox/streams/drop", ("POST",), streams_drop),
    _admin("/_sandbox/streams/expire-tokens", ("POST",), streams_expire_tokens),
    _admin("/_sandbox/instruments", ("POST",), instrument_add),
    _admin("/_sandbox/instruments/<path:symbol>/settle", ("POST",), instrument_settle),
    _admin("/_sandbox/trades/<trade_id>/bust", ("POST",), trade_bust),
    _admin("/_sandbox/accounts/adjust", ("POST",), adjust),
    _admin("/_sandbox/accounts/unrequested-deposit", ("POST",), unrequested_deposit),
    _admin("/_sandbox/accounts/suspend", ("POST",), suspend),
    _admin("/_sandbox/vendor-fees-report", ("GET",), vendor_fees_report),
]
