"""The README's role tables are the truth: every URL, GET and POST, tried as every role.

The tables are read from README.md itself, so the documentation and the code cannot drift apart:
change one and this test names every cell where the other disagrees.
"""

from __future__ import annotations

import functools
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from backoffice.audit.models import AuditEvent
from backoffice.gateway.models import GatewayCall
from funding.models import FundingRequest, FundingStatusChange, PoolTopUp, PoolTotals
from participants.models import Account, KycNote, KycStatusChange, WebhookDelivery
from participants.webhook_signatures import sign
from tests.factories import (
    BreakFactory,
    FirmFactory,
    FundingRequestFactory,
    KycSubmissionFactory,
    ReconciliationRunFactory,
    UserFactory,
)
from tests.trading.rows import executions, orders
from trading.models import (
    BalanceSnapshot,
    Execution,
    FeedGap,
    Instrument,
    Order,
    OrderCancel,
    OrderCancelChange,
    Position,
    StreamCursor,
    Trade,
    TradingDay,
)

README = Path(__file__).resolve().parents[3] / "README.md"
ROLES = ["compliance", "support", "treasury", "supervisor", "superuser"]
METHODS = ("GET", "POST")


@functools.cache
def tables() -> dict[str, list[dict[str, str]]]:
    """The tables of the README's "Roles and permissions" section, keyed by their first heading."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Roles and permissions\n", 1)[1].split("\n## ", 1)[0]
    found: dict[str, list[dict[str, str]]] = {}
    for block in re.findall(r"(?:^\|.*\|\n)+", section, flags=re.MULTILINE):
        lines = [
            [cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in block.strip().splitlines()
        ]
        header, rows = lines[0], lines[2:]
        found[header[0]] = [dict(zip(header, row, strict=True)) for row in rows]
    return found


def code(cell: str) -> str:
    return cell.strip("`")


def holds(role: str, permission: str) -> bool:
    """What the README's permission table grants (a permission it omits is superusers' only)."""
    rows = {code(row["permission"]): row for row in tables()["permission"]}
    if permission in rows:
        return rows[permission][role] == "✓"
    return role == "superuser"


# --- The permission table is BACKOFFICE_ROLES -------------------------------------------------------


def test_the_readme_permission_table_is_the_role_settings():
    rows = tables()["permission"]
    listed = {code(row["permission"]) for row in rows}

    granted = {perm for perms in settings.BACKOFFICE_ROLES.values() for perm in perms}
    assert listed == granted | set(settings.BACKOFFICE_ROLE_ONLY_PERMISSIONS)
    for row in rows:
        permission = code(row["permission"])
        for role, perms in settings.BACKOFFICE_ROLES.items():
            assert (row[role] == "✓") == (permission in perms), (permission, role)
        superuser = permission not in settings.BACKOFFICE_ROLE_ONLY_PERMISSIONS
        assert (row["superuser"] == "✓") == superuser, permission
    assert set(settings.BACKOFFICE_ROLES) | {"superuser"} == set(ROLES)


def test_reveal_is_compliance_only_superusers_included():
    row = next(r for r in tables()["permission"] if "reveal_pii" in r["permission"])

    assert [role for role in ROLES if row[role] == "✓"] == ["compliance"]


# --- Every URL is in the tables -------------------------------------------------------------------------


def routes(patterns=None, prefix: str = "") -> set[str]:
    """Every route of the URLconf, written as the README writes it (`<pk>` for `<int:pk>`)."""
    found: set[str] = set()
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found |= routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            found.add("/" + re.sub(r"<\w+:(\w+)>", r"<\1>", route))
    return found


def admin_model_routes(path: str) -> set[str]:
    suffixes = {"", "add/", "<object_id>/", "<object_id>/change/", "<object_id>/history/"}
    suffixes |= {"<object_id>/delete/"}
    if path == "/admin/auth/user/":
        suffixes.add("<id>/password/")
    return {path + suffix for suffix in suffixes}


ADMIN_APPS = ("auth", "audit", "gateway", "participants", "funding", "trading")
APP_INDEX = rf"/admin/^(?P<app_label>{'|'.join(ADMIN_APPS)})/$"
CATCH_ALL = "/admin/(?P<url>.*)$"


def test_every_url_of_the_app_is_in_the_readme():
    pages = {code(row["URL"]) for row in tables()["URL"]}
    app_indexes = {f"/admin/{label}/" for label in ADMIN_APPS}
    models = set().union(*(admin_model_routes(code(r["admin path"])) for r in tables()["model"]))

    assert app_indexes | {"/admin/<anything else>/"} <= pages
    documented = (pages - app_indexes - {"/admin/<anything else>/"}) | models
    assert routes() - {APP_INDEX, CATCH_ALL} == documented


# --- Every URL, GET and POST, as every role -------------------------------------------------------------


@pytest.fixture
def world(db):
    """One of everything a URL can name."""
    firm = FirmFactory.create()
    submission = KycSubmissionFactory.create(participant__firm=firm, status="manual_review")
    KycStatusChange.objects.create(
        submission=submission, to_status="manual_review", actor_label="test", source="staff"
    )
    KycNote.objects.create(submission=submission, author=submission.submitted_by, text="A note.")
    Account.objects.create(participant=submission.participant, account_id="firms/x/accounts/1")
    WebhookDelivery.objects.create(webhook_id="msg_1", event_type="webhook.test", outcome="test")
    GatewayCall.objects.create(
        environment="sandbox",
        operation="kyc_status",
        method="GET",
        endpoint="/v1/kyc/status",
        outcome="ok",
        latency_ms=5,
    )
    AuditEvent.objects.create(actor_label="test", action="test.event")
    funding_request = FundingRequestFactory.create(
        account=Account.objects.get(), status="awaiting_approval"
    )
    FundingStatusChange.objects.create(
        request=funding_request, to_status="draft", actor_label="test", source="staff"
    )
    PoolTopUp.objects.create(amount=1, reference="wire-1", recorded_by=funding_request.requested_by)
    PoolTotals.objects.create(currency="USD", top_ups=1)
    run = ReconciliationRunFactory.create()
    found = BreakFactory.create(first_run=run, last_run=run)
    trading_world(funding_request.requested_by)
    return {
        "run": run,
        "break": found,
        "firm": firm,
        "submission": submission,
        "participant": submission.participant,
        "user": UserFactory.create(username="someone-else", roles=["support"]),
        "funding_request": funding_request,
    }


TRADING_MODELS = (Order, Execution, Trade, Position, Instrument, BalanceSnapshot, TradingDay,
                  StreamCursor, FeedGap, OrderCancel, OrderCancelChange)  # fmt: skip


def trading_world(user: User) -> None:
    account = Account.objects.get().account_id
    (order,) = orders(1, account=account)
    executions(1, account=account)
    Trade.objects.create(exchange_id="T0", symbol=order.symbol, state="CLEARED", qty=1)
    Position.objects.create(
        account=account, symbol=order.symbol, net_position=1, qty_bought=1, qty_sold=0,
        bod_position=0, cost=1, realized=0, change_time=order.insert_time,
    )  # fmt: skip
    Instrument.objects.create(
        symbol=order.symbol, state="OPEN", price_scale=100, qty_scale=100, tick_size="0.01",
        minimum_trade_qty=1,
    )  # fmt: skip
    BalanceSnapshot.objects.create(
        account=account, cash=1, buying_power=1, open_orders=0, as_of=order.insert_time
    )
    TradingDay.objects.create(trade_date=order.insert_time.date())
    StreamCursor.objects.create(environment="sandbox", stream="executions")
    FeedGap.objects.create(
        environment="sandbox", stream="executions", reason="cold_start",
        window_start=order.insert_time, window_end=order.insert_time,
    )  # fmt: skip
    cancel = OrderCancel.objects.create(
        order=order, participant=Account.objects.get().participant, requested_by=user,
        reason="test", status="refused", send_deadline=order.insert_time,
    )  # fmt: skip
    OrderCancelChange.objects.create(cancel=cancel, to_status="refused", source="test")


def object_ids(world) -> dict[str, int | str]:
    return {
        "/admin/audit/auditevent/": AuditEvent.objects.get(action="test.event").pk,
        "/admin/gateway/gatewaycall/": GatewayCall.objects.get().pk,
        "/admin/participants/participant/": world["participant"].pk,
        "/admin/participants/kycsubmission/": world["submission"].pk,
        "/admin/participants/kycstatuschange/": KycStatusChange.objects.get().pk,
        "/admin/participants/account/": Account.objects.get().pk,
        "/admin/participants/kycnote/": KycNote.objects.get().pk,
        "/admin/participants/webhookdelivery/": WebhookDelivery.objects.get().pk,
        # A firm with no participants: one with them cannot be deleted, so no one is offered that.
        "/admin/participants/firm/": FirmFactory.create(environment="preprod").pk,
        "/admin/auth/user/": world["user"].pk,
        "/admin/auth/group/": Group.objects.get(name="support").pk,
        "/admin/funding/fundingrequest/": FundingRequest.objects.get().pk,
        "/admin/funding/fundingstatuschange/": FundingStatusChange.objects.get().pk,
        "/admin/funding/pooltopup/": PoolTopUp.objects.get().pk,
        "/admin/funding/pooltotals/": "USD",
        **{f"/admin/trading/{m._meta.model_name}/": m.objects.get().pk for m in TRADING_MODELS},
    }


def concrete(path: str, world) -> str:
    """A README route with real ids in it."""
    if path.startswith("/funding/requests/"):
        pk = world["funding_request"].pk
    elif path.startswith("/reconciliation/"):
        pk = world["run" if "/runs/" in path else "break"].pk
    else:
        pk = world["participant" if "/participants/" in path else "submission"].pk
    return (
        path.replace("<pk>", str(pk))
        .replace("<exchange_id>", Order.objects.get().exchange_id)
        .replace("<field>", "ssn")
        .replace("<content_type_id>", str(ContentType.objects.get_for_model(User).pk))
        .replace("<object_id>", str(world["user"].pk))
        .replace("<anything else>", "no-such-page")
    )


def expected_cells(world) -> dict[str, dict[tuple[str, str], bool]]:
    """role -> {(path, method): allowed}, as the README's tables say."""
    expected: dict[str, dict[tuple[str, str], bool]] = {role: {} for role in ["anyone", *ROLES]}
    for row in tables()["URL"]:
        path = concrete(code(row["URL"]), world)
        for role in expected:
            for method in METHODS:
                expected[role][(path, method)] = method in row[role].split()
    ids = object_ids(world)
    for row in tables()["model"]:
        base = code(row["admin path"])
        may_list = code(row["list and open"])
        writers = row["add, change, delete"]
        obj = f"{base}{ids[base]}/"
        for role in ROLES:
            lists = holds(role, may_list)
            writes = writers == role
            cells = {
                (base, "GET"): lists,
                (base, "POST"): lists,
                (f"{base}add/", "GET"): writes,
                (f"{base}add/", "POST"): writes,
                (obj, "GET"): True,  # redirects to the change page, which decides
                (obj, "POST"): True,
                (f"{obj}change/", "GET"): lists,
                (f"{obj}change/", "POST"): writes,
                (f"{obj}history/", "GET"): lists,
                (f"{obj}history/", "POST"): lists,
                (f"{obj}delete/", "GET"): writes,
                (f"{obj}delete/", "POST"): writes,
            }
            if base == "/admin/auth/user/":
                cells |= {(f"{obj}password/", "GET"): writes, (f"{obj}password/", "POST"): writes}
            expected[role] |= cells
        for method in METHODS:  # the admin is for signed-in staff only
            for path in {path for path, _ in expected["compliance"] if path.startswith(base)}:
                expected["anyone"][(path, method)] = False
    return expected


def signed_webhook(world) -> dict[str, Any]:
    body = json.dumps({"event_type": "webhook.test", "data": {}})
    webhook_id = f"msg_{time.monotonic_ns()}"
    timestamp = str(int(time.time()))
    return {
        "data": body,
        "content_type": "application/json",
        "HTTP_WEBHOOK_ID": webhook_id,
        "HTTP_WEBHOOK_TIMESTAMP": timestamp,
        "HTTP_WEBHOOK_SIGNATURE": sign(
            secret=world["firm"].webhook_secret,
            webhook_id=webhook_id,
            timestamp=timestamp,
            body=body.encode(),
        ),
    }


def allowed(response, role: str) -> bool:
    """A refusal is a 403 (or 404 or 405) for staff, the sign-in page for anyone else."""
    assert response.status_code < 500, response.content.decode()[:2000]
    if response.status_code in (403, 404, 405):
        return False
    if role == "anyone" and response.status_code == 302:
        return not response["Location"].startswith(("/signin/", "/admin/login/"))
    return True


@pytest.mark.parametrize("role", ["anyone", *ROLES])
def test_every_url_answers_every_role_as_the_readme_says(role, world):
    expected = expected_cells(world)[role]
    user = None if role == "anyone" else UserFactory.create(username=f"{role}-1", roles=[role])

    def client() -> Client:
        fresh = Client()
        if user is not None:
            fresh.force_login(user)
        return fresh

    shared = client()
    observed = {}
    for path, method in expected:
        # Signing out ends the session; every other request shares one.
        c = client() if "logout" in path or "signout" in path else shared
        if method == "GET":
            response = c.get(path)
        elif path.startswith("/webhooks/"):
            response = c.post(path, **signed_webhook(world))
        else:
            response = c.post(path)
        observed[(path, method)] = allowed(response, role)

    assert {cell: ok for cell, ok in observed.items() if ok != expected[cell]} == {}
