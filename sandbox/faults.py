"""Injected faults, set through /_sandbox/faults, so clients can be tested against a bad day.

A rule applies to one endpoint family (or "*") and fires either on the next `count` matching calls
or on a `share` of them drawn from a seeded generator, so a test gets the same sequence every run.
Rules live in memory: they are test controls, not exchange state, and a restart clears them.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

from sandbox import wire
from sandbox.errors import invalid

KINDS = {
    "latency",  # sleep latency_ms, then answer normally
    "error",  # answer with `status` (5xx) and a matching error body
    "rate_limit",  # 429 RESOURCE_EXHAUSTED with Retry-After
    "drop",  # close the connection without a response
    "malformed",  # 200 with a body that is not valid JSON
    "cash_pending",  # CreateCashMovement answers PENDING and settles after settle_after s
    "cash_ambiguous",  # CreateCashMovement answers AMBIGUOUS and settles after settle_after s
    "duplicate",  # streams: the next resume by token re-sends the batch before the token
}
FAMILIES = {
    "*",
    "auth",
    "identity",
    "kyc",
    "cash",
    "vendor_orders",
    "orders",
    "positions",
    "ledger",
    "reports",
    "refdata",
    "orderbook",
    "settlement",
    "other",
    # gRPC streams: error (refused at start: 503 UNAVAILABLE...), rate_limit (RESOURCE_EXHAUSTED),
    # latency (each batch waits latency_ms), duplicate.
    "streams",
}
STATUS_CODES = {500: 13, 502: 14, 503: 14, 504: 4}


@dataclass
class Rule:
    id: int
    family: str
    kind: str
    count: int | None = None
    share: float | None = None
    seed: int = 0
    latency_ms: int = 0
    status: int = 503
    retry_after: int = 1
    settle_after: float = 1.0
    settle_outcome: str = "CONFIRMED"
    fired: int = 0
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    def public(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("_rng")
        return {wire.camel(k): v for k, v in data.items()}


class Faults:
    def __init__(self) -> None:
        self._rules: list[Rule] = []
        self._next_id = 1
        self._lock = threading.Lock()

    def add(self, body: dict[str, Any]) -> Rule:
        family = str(body.get("family", "*"))
        kind = str(body.get("kind", ""))
        if family not in FAMILIES:
            raise invalid(f"family must be one of {sorted(FAMILIES)}")
        if kind not in KINDS:
            raise invalid(f"kind must be one of {sorted(KINDS)}")
        count = body.get("count")
        share = body.get("share")
        if (count is None) == (share is None):
            raise invalid("give exactly one of count (next N calls) or share (0..1, seeded)")
        if share is not None and not 0 <= float(share) <= 1:
            raise invalid("share must be between 0 and 1")
        status = int(body.get("status", 503))
        if kind == "error" and status not in STATUS_CODES:
            raise invalid(f"status must be one of {sorted(STATUS_CODES)}")
        outcome = (
            str(body.get("settle_outcome", "CONFIRMED"))
            .upper()
            .removeprefix("CASH_MOVEMENT_STATUS_")
        )
        if outcome not in {"CONFIRMED", "REJECTED"}:
            raise invalid("settleOutcome must be CONFIRMED or REJECTED")
        with self._lock:
            rule = Rule(
                id=self._next_id,
                family=family,
                kind=kind,
                count=None if count is None else int(count),
                share=None if share is None else float(share),
                seed=int(body.get("seed", 0)),
                latency_ms=int(body.get("latency_ms", 0)),
                status=status,
                retry_after=int(body.get("retry_after", 1)),
                settle_after=float(body.get("settle_after", 1.0)),
                settle_outcome=outcome,
            )
            rule._rng = random.Random(rule.seed)
            self._next_id += 1
            self._rules.append(rule)
        return rule

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.public() for r in self._rules]

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def draw(self, family: str, kinds: set[str]) -> Rule | None:
        """The first rule of one of `kinds` that fires for this call of `family`, consumed."""
        with self._lock:
            for rule in self._rules:
                if rule.kind not in kinds or rule.family not in {"*", family}:
                    continue
                if rule.count is not None:
                    if rule.count <= 0:
                        continue
                    rule.count -= 1
                    rule.fired += 1
                    return rule
                if rule.share is not None and rule._rng.random() < rule.share:
                    rule.fired += 1
                    return rule
            self._rules = [r for r in self._rules if r.count is None or r.count > 0]
        return None
