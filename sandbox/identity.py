"""Who am I, which participants and accounts exist (API.md 5.1); scope read:accounts."""

from __future__ import annotations

from typing import Any

from sandbox import firms
from sandbox.routing import PID_OPTIONAL, PID_REQUIRED, Ctx, Route


def whoami(ctx: Ctx) -> dict[str, Any]:
    firm = firms.firm_row(ctx.db, ctx.firm_id)
    pfirm = firms.participant_firm(ctx.firm_id)
    user, name = f"firms/{pfirm}/users/admin", "Firm administrator"
    if ctx.participant is not None:
        user, name = ctx.participant["participant_id"], ctx.participant["display_name"]
    assert ctx.caller is not None
    return {
        "user": user,
        "userDisplayName": name,
        "firm": pfirm,
        "firmDisplayName": firm["display_name"],
        "audience": ctx.caller.audience,
        "firmType": "FIRM_TYPE_PARTICIPANT",
    }


def users(ctx: Ctx) -> dict[str, Any]:
    # All of the firm's participants, unpaginated (API.md 8 #23).
    rows = ctx.db.execute(
        "SELECT participant_id, display_name FROM participants WHERE firm_id = ? ORDER BY rowid",
        (ctx.firm_id,),
    ).fetchall()
    firm = firms.firm_row(ctx.db, ctx.firm_id)
    return {
        "users": [r["participant_id"] for r in rows],
        "displayNames": [r["display_name"] for r in rows],
        "firms": [firms.participant_firm(ctx.firm_id)] * len(rows),
        "firmsDisplayNames": [firm["display_name"]] * len(rows),
    }


def accounts(ctx: Ctx) -> dict[str, Any]:
    sql = "SELECT account, display_name FROM accounts WHERE firm_id = ? AND kind = 'participant'"
    params: list[Any] = [ctx.firm_id]
    if ctx.participant is not None:
        sql += " AND participant_id = ?"
        params.append(ctx.participant["participant_id"])
    user = ctx.query("user")
    if user:
        sql += " AND participant_id = ?"
        params.append(user)
    rows = ctx.db.execute(sql + " ORDER BY rowid", params).fetchall()
    return {
        "accounts": [r["account"] for r in rows],
        "displayNames": [r["display_name"] for r in rows],
    }


ROUTES = [
    Route(
        "/v1/whoami", ("GET",), whoami, scope="read:accounts", pid=PID_OPTIONAL, family="identity"
    ),
    Route("/v1/users", ("GET",), users, scope="read:accounts", pid=PID_REQUIRED, family="identity"),
    Route(
        "/v1/accounts",
        ("GET",),
        accounts,
        scope="read:accounts",
        pid=PID_OPTIONAL,
        family="identity",
    ),
]
