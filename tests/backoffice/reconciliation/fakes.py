"""A scripted check for the run's own tests: accounts in pages, and per account what the run
should find, read from a JSON file (so that a `reconcile` subprocess follows the same script).

The script: {"accounts": [...], "findings": {account: [finding, ...]}, "fail_from": account or
null (the exchange fails from that account on), "stall_after_pages": n or null (the process
blocks after writing n pages, for a test to kill it)}. A finding is {"key", "type", "ours",
"theirs", "timing"}.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from backoffice.gateway.errors import Unavailable
from backoffice.reconciliation.checks import CheckContext, CheckPage, Finding
from backoffice.reconciliation.models import BreakType

SCRIPT_ENV = "RECONCILIATION_FAKE_SCRIPT"


def write_script(path: Path, **script: Any) -> None:
    base: dict[str, Any] = {"accounts": [], "findings": {}, "fail_from": None}
    path.write_text(json.dumps(base | script))
    os.environ[SCRIPT_ENV] = str(path)


def _script() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(Path(os.environ[SCRIPT_ENV]).read_text())
    return loaded


def _finding(account: str, item: dict[str, Any]) -> Finding:
    return Finding(
        key=f"{account}|{item['key']}",
        break_type=BreakType(item["type"]),
        summary=f"{item['key']} differs",
        account=account,
        subject=item["key"],
        ours=Decimal(item["ours"]) if item.get("ours") is not None else None,
        theirs=Decimal(item["theirs"]) if item.get("theirs") is not None else None,
        evidence={"script": True},
        timing=bool(item.get("timing")),
    )


class ScriptedCheck:
    name = "scripted"
    label = "Scripted figures"

    def pages(self, context: CheckContext, *, after: str) -> Iterator[CheckPage]:
        script = _script()
        accounts = sorted(a for a in script["accounts"] if context.wants(a) and a > after)
        written = 0
        for start in range(0, len(accounts), context.page_size):
            chunk = accounts[start : start + context.page_size]
            page = CheckPage(cursor=chunk[-1], scopes=chunk)
            for account in chunk:
                if context.exchange_failure or account == script["fail_from"]:
                    if not context.exchange_failure:
                        context.failed(Unavailable("the exchange answered 503", http_status=503))
                    page.not_checked[account] = context.exchange_failure
                    continue
                page.items += 1
                page.findings += [_finding(account, f) for f in script["findings"].get(account, [])]
            yield page
            written += 1
            if script.get("stall_after_pages") == written:
                time.sleep(600)


class BrokenCheck:
    """A check with a bug: the run fails, and says so."""

    name = "broken"
    label = "Broken"

    def pages(self, context: CheckContext, *, after: str) -> Iterator[CheckPage]:
        raise ZeroDivisionError("division by zero")
        yield  # a generator
