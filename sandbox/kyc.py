"""KYC: start, status, prefill, webhook registration, and the documented sandbox triggers.

Appendix A of API.md, verbatim: with DocV off, email reject@example.com rejects, Paulina Gizela goes
to manual review, anything else is approved; with DocV on, the date of birth picks the flow. An
approval is provisioned (participant id and account created, `kyc.approved` sent) after the
configured delay, by the background worker; the admin surface finishes DocV uploads and decides
manual reviews.
"""

from __future__ import annotations

import ipaddress
import json
import re
import sqlite3
import time
from datetime import date
from typing import Any

from sandbox import firms, webhooks, wire
from sandbox.env import Env
from sandbox.errors import ApiError, Code, invalid, not_found
from sandbox.routing import Ctx, Route

US_STATES = frozenset(
    [
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
        "DC",
        "PR",
        "VI",
        "GU",
        "AS",
        "MP",
    ]
)
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
EXTERNAL_ID = re.compile(r"^[\x21-\x2e\x30-\x7e]{1,49}$")  # visible ASCII, no '/'

DOCV_TRIGGERS = {
    "1985-10-02": ("approve", ""),
    "1985-09-04": ("reject", ""),
    "1985-09-02": ("docv", "approve"),
    "1985-09-05": ("docv", "reject"),
    "1985-09-25": ("docv", "review"),
}
PREFILL_MATCH = ("1985-03-30", "14155551212")
PREFILL_NO_MATCH = "12067890036"
OTP_TTL = 600
OTP_ATTEMPTS = 3


def _require(body: dict[str, Any], name: str, max_len: int | None = None) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"{name} is required")
    if max_len is not None and len(value) > max_len:
        raise invalid(f"{name}: at most {max_len} characters")
    return value.strip()


def _date(value: str, name: str) -> date:
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError as exc:
        raise invalid(f"{name}: must be a date YYYY-MM-DD") from exc


def validate_start(body: dict[str, Any]) -> dict[str, Any]:
    external_id = _require(body, "external_id", 49)
    if not EXTERNAL_ID.match(external_id):
        raise invalid("external_id: visible ASCII characters other than '/' only")
    ssn = _require(body, "ssn")
    if not re.fullmatch(r"\d{9}", ssn):
        raise invalid("ssn: nine digits, no dashes")
    first = _require(body, "first_name", 50)
    last = _require(body, "last_name", 50)
    dob = _require(body, "date_of_birth")
    if _date(dob, "date_of_birth") >= wire.now().date():
        raise invalid("date_of_birth: must be in the past")
    email = _require(body, "email")
    if not EMAIL.match(email):
        raise invalid("email: not an email address")
    phone = _require(body, "phone_number")
    if not E164.match(phone):
        raise invalid("phone_number: must be E.164, e.g. +12125551234")
    address = body.get("address")
    if not isinstance(address, dict):
        raise invalid("address is required")
    _require(address, "address_line_1")
    _require(address, "city")
    state = _require(address, "state")
    if state.upper() not in US_STATES:
        raise invalid("address.state: a two-letter US state code")
    postal = _require(address, "postal_code")
    if not re.fullmatch(r"\d{5}", postal):
        raise invalid("address.postal_code: a five-digit ZIP code")
    agreement = body.get("agreement")
    if not isinstance(agreement, dict):
        raise invalid("agreement is required")
    _require(agreement, "version")
    wire.parse_ts(_require(agreement, "signed_at"), "agreement.signed_at")
    ip = _require(body, "ip_address")
    try:
        ipaddress.ip_address(ip)
    except ValueError as exc:
        raise invalid("ip_address: not an IP address") from exc
    docv = wire.boolean(body.get("docv_eligible"), "docv_eligible")
    return {
        "external_id": external_id,
        "first_name": first,
        "last_name": last,
        "date_of_birth": dob,
        "email": email,
        "docv": docv,
        "referral_code": wire.text(body.get("referral_code"), "referral_code"),
        "middle_name": wire.text(body.get("middle_name"), "middle_name"),
    }


def decide(fields: dict[str, Any]) -> tuple[str, str]:
    """(outcome, outcome after DocV) from the documented triggers."""
    if fields["docv"] and fields["date_of_birth"] in DOCV_TRIGGERS:
        return DOCV_TRIGGERS[fields["date_of_birth"]]
    if fields["email"].lower() == "reject@example.com":
        return "reject", ""
    if fields["first_name"] == "Paulina" and fields["last_name"] == "Gizela":
        return "review", ""
    return "approve", ""


def _state_for(outcome: str) -> tuple[str, str, str]:
    return {
        "approve": ("ACCEPT", "ON_HOLD", "Accept"),
        "reject": ("REJECT", "CLOSED", "Reject"),
        "review": ("REVIEW", "OPEN", "In Review"),
        "docv": ("REVIEW", "ON_HOLD", "Document Request Initiated"),
    }[outcome]


def _docv(base_url: str, eval_id: str) -> dict[str, str]:
    token = "dt_" + wire.ulid().lower()
    return {
        "url": f"{base_url}/_sandbox/docv/{eval_id}",
        "qrCode": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
        "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
        "docvTransactionToken": token,
        "eventId": "evt_" + eval_id[-8:].lower(),
        "sdkKey": "",
    }


def status_json(row: sqlite3.Row, *, with_ids: bool = True) -> dict[str, Any]:
    result: dict[str, Any] = {
        "status": {
            "decision": row["decision"],
            "status": row["status"],
            "subStatus": row["sub_status"],
            "externalId": row["external_id"],
        },
        "participantId": row["participant_id"],
    }
    if with_ids:
        result["provisionedAccount"] = row["account"]
    if row["docv"]:
        result["docv"] = json.loads(row["docv"])
    return result


def _apply(db: sqlite3.Connection, env: Env, row: sqlite3.Row, outcome: str) -> None:
    """Move an evaluation to `outcome`; rejections announce themselves at once."""
    decision, status, sub = _state_for(outcome)
    provision_at = time.time() + env.settings.provisioning_delay if outcome == "approve" else None
    db.execute(
        "UPDATE kyc SET decision = ?, status = ?, sub_status = ?, docv = '', after_docv = '', "
        "provision_at = ?, rejection_reason = ?, updated_at = ? WHERE firm_id = ? AND external_id = ?",
        (
            decision,
            status,
            sub,
            provision_at,
            "Reject" if outcome == "reject" else "",
            wire.ts(),
            row["firm_id"],
            row["external_id"],
        ),
    )
    if outcome == "reject":
        webhooks.enqueue(
            db,
            row["firm_id"],
            "kyc.rejected",
            {
                "external_id": row["external_id"],
                "user_id": row["external_id"],
                "kyc_eval_id": row["eval_id"],
                "firm_id": row["firm_id"],
                "status": "KYC_STATUS_REJECTED",
                "rejection_reason": "Reject",
                "status_set_at": wire.ts(),
            },
        )
    env.wake()


def start(ctx: Ctx) -> dict[str, Any]:
    fields = validate_start(ctx.body())
    env = ctx.env
    with env.store.write() as db:
        existing = db.execute(
            "SELECT * FROM kyc WHERE firm_id = ? AND external_id = ?",
            (ctx.firm_id, fields["external_id"]),
        ).fetchone()
        if existing is not None:
            if existing["decision"] == "ACCEPT":
                raise ApiError(
                    Code.ALREADY_EXISTS,
                    f"external_id {fields['external_id']} already has approved KYC; read the status",
                )
            if existing["decision"] != "REJECT":
                return status_json(existing, with_ids=False)
            db.execute(
                "DELETE FROM kyc WHERE firm_id = ? AND external_id = ?",
                (ctx.firm_id, fields["external_id"]),
            )
        outcome, after = decide(fields)
        eval_id = "kyc_" + wire.ulid()
        name = " ".join(p for p in (fields["first_name"], fields["last_name"]) if p)
        db.execute(
            "INSERT INTO kyc (firm_id, external_id, eval_id, decision, status, sub_status, "
            "after_docv, display_name, date_of_birth, referral_code, created_at, updated_at) "
            "VALUES (?, ?, ?, '', '', '', ?, ?, ?, ?, ?, ?)",
            (
                ctx.firm_id,
                fields["external_id"],
                eval_id,
                after,
                name,
                fields["date_of_birth"],
                fields["referral_code"],
                wire.ts(),
                wire.ts(),
            ),
        )
        db.execute(
            "INSERT INTO kyc_evaluations (firm_id, external_id, eval_id, created_at) "
            "VALUES (?, ?, ?, ?)",
            (ctx.firm_id, fields["external_id"], eval_id, wire.ts()),
        )
        row = _get(db, ctx.firm_id, fields["external_id"])
        if outcome == "docv":
            decision, status, sub = _state_for("docv")
            db.execute(
                "UPDATE kyc SET decision = ?, status = ?, sub_status = ?, docv = ? "
                "WHERE firm_id = ? AND external_id = ?",
                (
                    decision,
                    status,
                    sub,
                    json.dumps(_docv(env.settings.base_url, eval_id)),
                    ctx.firm_id,
                    fields["external_id"],
                ),
            )
        else:
            _apply(db, env, row, outcome)
        row = _get(db, ctx.firm_id, fields["external_id"])
    return status_json(row, with_ids=False)


def _get(db: sqlite3.Connection, firm_id: str, external_id: str) -> sqlite3.Row:
    row = db.execute(
        "SELECT * FROM kyc WHERE firm_id = ? AND external_id = ?", (firm_id, external_id)
    ).fetchone()
    if row is None:
        raise not_found(f"no KYC evaluation for external_id {external_id}")
    return row


def status(ctx: Ctx) -> dict[str, Any]:
    external_id = ctx.query("external_id") or ctx.query("user_id")
    if not external_id:
        raise invalid("external_id is required")
    provision_due(ctx.env)
    return status_json(_get(ctx.db, ctx.firm_id, external_id))


def provision_due(env: Env) -> int:
    """Create participant and account for approvals whose delay has passed; send kyc.approved."""
    due = env.store.db.execute(
        "SELECT firm_id, external_id FROM kyc WHERE provision_at IS NOT NULL AND provision_at <= ?",
        (time.time(),),
    ).fetchall()
    for item in due:
        with env.store.write() as db:
            row = db.execute(
                "SELECT * FROM kyc WHERE firm_id = ? AND external_id = ? AND provision_at IS NOT NULL",
                (item["firm_id"], item["external_id"]),
            ).fetchone()
            if row is not None:
                provision(db, row)
    return len(due)


def provision(db: sqlite3.Connection, row: sqlite3.Row) -> tuple[str, str]:
    firm_id, external_id = row["firm_id"], row["external_id"]
    pid = firms.participant_id(firm_id, external_id)
    existing = db.execute(
        "SELECT account FROM accounts WHERE participant_id = ? ORDER BY created_at", (pid,)
    ).fetchone()
    stamp = wire.ts()
    if existing is None:
        account = firms.new_account_name(firm_id)
        db.execute(
            "INSERT OR IGNORE INTO participants (participant_id, firm_id, external_id, display_name, "
            "created_at) VALUES (?, ?, ?, ?, ?)",
            (pid, firm_id, external_id, row["display_name"], stamp),
        )
        db.execute(
            "INSERT INTO accounts (account, firm_id, participant_id, kind, display_name, created_at) "
            "VALUES (?, ?, ?, 'participant', ?, ?)",
            (account, firm_id, pid, f"{row['display_name']} trading account", stamp),
        )
    else:
        account = existing["account"]
    db.execute(
        "UPDATE kyc SET status = 'CLOSED', participant_id = ?, account = ?, provision_at = NULL, "
        "updated_at = ? WHERE firm_id = ? AND external_id = ?",
        (pid, account, stamp, firm_id, external_id),
    )
    webhooks.enqueue(
        db,
        firm_id,
        "kyc.approved",
        {
            "external_id": external_id,
            "user_id": external_id,
            "kyc_eval_id": row["eval_id"],
            "firm_id": firm_id,
            "status": "KYC_STATUS_APPROVED",
            "provisioned_participant": pid,
            "provisioned_account": account,
            "date_of_birth": row["date_of_birth"],
            "referral_code_owned": row["referral_code"],
            "status_set_at": stamp,
        },
    )
    return pid, account


def register_webhook(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    url = wire.text(body.get("webhook_url"), "webhook_url").strip()
    secret = wire.text(body.get("signing_secret"), "signing_secret").strip()
    return webhooks.register(ctx.env, ctx.firm_id, url, secret)


# ---- prefill (optional step before start) ----


def prefill(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    phone = _require(body, "phone_number")
    digits = re.sub(r"\D", "", phone)
    if not re.fullmatch(r"\+?[1-9]\d{6,14}", phone.strip()):
        raise invalid("phone_number: invalid phone number")
    dob = _require(body, "date_of_birth")
    _date(dob, "date_of_birth")
    user_id = _require(body, "user_id", 49)
    if (dob, digits) != PREFILL_MATCH:
        raise ApiError(Code.FAILED_PRECONDITION, "prefill not available: no match for this phone")
    with ctx.env.store.write() as db:
        db.execute(
            "INSERT OR REPLACE INTO prefill (firm_id, external_id, phone, date_of_birth, attempts, "
            "status, created_at) VALUES (?, ?, ?, ?, 0, 'otp_sent', ?)",
            (ctx.firm_id, user_id, digits, dob, time.time()),
        )
    return {
        "status": {
            "decision": "pending",
            "status": "otp_sent",
            "subStatus": "",
            "externalId": user_id,
        },
        "externalId": user_id,
    }


def prefill_otp(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    otp = wire.text(body.get("otp"), "otp").strip()
    external_id = _require(body, "external_id")
    with ctx.env.store.write() as db:
        row = db.execute(
            "SELECT * FROM prefill WHERE firm_id = ? AND external_id = ?",
            (ctx.firm_id, external_id),
        ).fetchone()
        if row is None:
            raise not_found("no prefill in progress for external_id")
        if time.time() - row["created_at"] > OTP_TTL:
            raise ApiError(Code.FAILED_PRECONDITION, "OTP expired")
        if row["attempts"] >= OTP_ATTEMPTS:
            raise ApiError(Code.FAILED_PRECONDITION, "too many OTP attempts")
        db.execute(
            "UPDATE prefill SET attempts = attempts + 1 WHERE firm_id = ? AND external_id = ?",
            (ctx.firm_id, external_id),
        )
        if otp == "000000":
            status = {
                "decision": "pending",
                "status": "otp_sent",
                "subStatus": "",
                "externalId": "",
            }
            status["externalId"] = external_id
            return {"status": status}
        if otp != "123456":
            raise invalid("otp: invalid code")
        db.execute(
            "UPDATE prefill SET status = 'prefill_complete' WHERE firm_id = ? AND external_id = ?",
            (ctx.firm_id, external_id),
        )
    return {
        "status": {
            "decision": "pending",
            "status": "prefill_complete",
            "subStatus": "",
            "externalId": external_id,
        },
        "firstName": "Jane",
        "lastName": "Sample",
        "dateOfBirth": row["date_of_birth"],
        "phoneNumber": "+" + row["phone"],
        "email": "jane.sample@example.com",
        "ssn": "6789",
        "address": {
            "addressLine1": "1 Market Street",
            "city": "San Francisco",
            "state": "CA",
            "postalCode": "94105",
            "country": "US",
        },
    }


# ---- admin hooks ----


def admin_docv_complete(env: Env, firm_id: str, external_id: str) -> dict[str, Any]:
    with env.store.write() as db:
        row = _get(db, firm_id, external_id)
        if not row["docv"]:
            raise ApiError(Code.FAILED_PRECONDITION, "no document upload is outstanding")
        _apply(db, env, row, row["after_docv"] or "approve")
        return status_json(_get(db, firm_id, external_id))


def admin_evaluations(env: Env, firm_id: str, external_id: str) -> dict[str, Any]:
    """How many evaluations the exchange started for `external_id`: a test's exchange-side count."""
    rows = env.store.db.execute(
        "SELECT eval_id FROM kyc_evaluations WHERE firm_id = ? AND external_id = ? "
        "ORDER BY created_at, eval_id",
        (firm_id, external_id),
    ).fetchall()
    return {"evaluations": len(rows), "evalIds": [row["eval_id"] for row in rows]}


def admin_review(env: Env, firm_id: str, external_id: str, decision: str) -> dict[str, Any]:
    if decision not in {"approve", "reject"}:
        raise invalid("decision must be approve or reject")
    with env.store.write() as db:
        row = _get(db, firm_id, external_id)
        if row["decision"] != "REVIEW" or row["docv"]:
            raise ApiError(Code.FAILED_PRECONDITION, "the evaluation is not in manual review")
        _apply(db, env, row, decision)
        return status_json(_get(db, firm_id, external_id))


ROUTES = [
    Route("/v1/kyc/start", ("POST",), start, scope="write:kyc", family="kyc"),
    Route("/v1/kyc/status", ("GET",), status, scope="read:kyc", family="kyc"),
    Route("/v1/kyc/webhook", ("POST",), register_webhook, scope="write:kyc", family="kyc"),
    Route("/v1/kyc/prefill", ("POST",), prefill, scope="write:kyc", family="kyc"),
    Route("/v1/kyc/prefill/otp", ("POST",), prefill_otp, scope="write:kyc", family="kyc"),
]
