"""The route table's vocabulary: what each endpoint needs checked before its handler runs."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request

from sandbox import wire
from sandbox.auth import Caller
from sandbox.env import Env
from sandbox.errors import ApiError, Code, denied, invalid

# Styles: how errors look and how the caller is checked.
REST = "rest"  # grpc-gateway REST, bearer token
CONNECT = "connect"  # Connect JSON unary RPC, bearer token
ADMIN = "admin"  # /_sandbox/, admin token or loopback
PUBLIC = "public"  # no auth (/v1/health, the token endpoint, JWKS)

# x-participant-id handling (API.md 8 #10).
PID_REQUIRED = "required"
PID_OPTIONAL = "optional"
PID_IGNORED = "ignored"


@dataclass
class Ctx:
    env: Env
    request: Request
    route: Route
    args: dict[str, str]
    caller: Caller | None = None
    participant: sqlite3.Row | None = None
    _body: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def firm_id(self) -> str:
        assert self.caller is not None
        return self.caller.firm_id

    @property
    def db(self) -> sqlite3.Connection:
        return self.env.store.db

    @property
    def base_url(self) -> str:
        """The URL this request reached the sandbox at (tokens' audience is checked against it)."""
        return self.request.host_url.rstrip("/")

    def body(self) -> dict[str, Any]:
        """The JSON body with snake_case keys; an empty body is an empty message."""
        if self._body is None:
            raw = self.request.get_data(cache=True)
            if not raw.strip():
                self._body = {}
            else:
                try:
                    parsed = json.loads(raw)
                except ValueError as exc:
                    raise invalid("request body is not valid JSON") from exc
                if not isinstance(parsed, dict):
                    raise invalid("request body must be a JSON object")
                self._body = wire.snake_keys(parsed)
        return self._body

    def query(self, name: str) -> str | None:
        """A query parameter by its snake_case name, also found under its camelCase name."""
        for key, value in self.request.args.items(multi=True):
            if wire.snake(key) == name:
                return value
        return None

    def query_list(self, name: str) -> list[str]:
        values: list[str] = []
        for key, value in self.request.args.items(multi=True):
            if wire.snake(key.removesuffix("[]")) == name:
                values.extend(v for v in value.split(",") if v)
        return values

    def participant_accounts(self) -> list[str]:
        assert self.participant is not None
        rows = self.db.execute(
            "SELECT account FROM accounts WHERE participant_id = ? ORDER BY created_at",
            (self.participant["participant_id"],),
        ).fetchall()
        return [r["account"] for r in rows]

    def scoped_accounts(self, wanted: list[str], field_name: str) -> list[str]:
        """The accounts a multi-account call covers: those asked for (each checked as
        `own_account` checks it), else every account of the participant, or, with no
        x-participant-id, every participant account of the firm."""
        for account in wanted:
            self.own_account(account, field_name)
        if self.participant is not None:
            mine = self.participant_accounts()
            return [a for a in mine if not wanted or a in wanted]
        if wanted:
            return list(dict.fromkeys(wanted))
        rows = self.db.execute(
            "SELECT account FROM accounts WHERE firm_id = ? AND kind = 'participant' "
            "ORDER BY created_at, account",
            (self.firm_id,),
        ).fetchall()
        return [r["account"] for r in rows]

    def own_account(self, account: str, field_name: str) -> str:
        """An account the caller may see: the participant's own (or, with no participant, the
        firm's); anything else is refused as cross-firm, never revealed as existing or not."""
        if not account:
            if self.participant is not None:
                accounts = self.participant_accounts()
                if accounts:
                    return accounts[0]
            raise invalid(f"{field_name} is required")
        row = self.db.execute("SELECT * FROM accounts WHERE account = ?", (account,)).fetchone()
        if row is None or row["firm_id"] != self.firm_id:
            raise denied(f"permission denied: {field_name} does not belong to the caller")
        if (
            self.participant is not None
            and row["kind"] == "participant"
            and row["participant_id"] != self.participant["participant_id"]
        ):
            raise denied(f"permission denied: {field_name} does not belong to the participant")
        return account


Handler = Callable[[Ctx], Any]


@dataclass(frozen=True)
class Route:
    path: str
    methods: tuple[str, ...]
    handler: Handler
    style: str = REST
    scope: str | None = None
    pid: str = PID_IGNORED
    # Endpoint family for fault injection, and the rate-limit bucket (None: the default bucket).
    family: str = "other"
    limit: str | None = None


def require(condition: bool, message: str, code: Code = Code.INVALID_ARGUMENT) -> None:
    if not condition:
        raise ApiError(code, message)
