"""What a check is, and what it hands the run.

A check compares one kind of figure (cash, movements, positions, the pool) and lives in the
domain app that owns the figures; BACKOFFICE_RECONCILIATION_CHECKS lists them by dotted path,
as Django lists MIDDLEWARE. It works in pages (of accounts, usually), reading both sides in bulk,
and yields one `CheckPage` per page: the cursor to resume after it, the scopes it checked fully
(account ids, "" for firm-level figures), what it found, and the accounts it could not check.
The run writes each page in one transaction with its cursor, so a check is never asked twice for
the same page by an uninterrupted run, and a resumed run starts after the last page written.

A check never writes anything itself, and never concludes anything about an account whose
figures it could not read: those go in `not_checked`, with the reason.

A check reads the exchange for its next page while it works on this one (`CheckContext.prefetch`),
so that a run waits on the exchange and on the database at once rather than in turn, and the run
takes one page of each check in turn, so that what checks share for a page of accounts (the
positions replayed from the executions) is made once (`CheckContext.for_page`).
"""

from __future__ import annotations

import contextvars
import datetime as dt
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any, Protocol, TypeVar

from django.conf import settings
from django.db import connections
from django.utils.module_loading import import_string

from backoffice.gateway.client import Gateway, assert_outside_transaction
from backoffice.gateway.errors import GatewayError, Outcome, misconfiguration
from backoffice.gateway.recording import HeldRecorder
from backoffice.reconciliation.models import BreakType

FIRM = ""  # the scope of firm-level figures (the pool)

T = TypeVar("T")
Item = TypeVar("Item")


@dataclass(frozen=True)
class Finding:
    """One difference (a break) or one timing difference, as a check reports it."""

    key: str  # stable across runs: the same difference has the same key every night
    break_type: BreakType
    summary: str
    account: str = FIRM
    subject: str = ""
    unit: str = "USD"
    ours: Decimal | None = None
    theirs: Decimal | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    timing: bool = False  # explained by the cut-off: recorded, not raised

    @property
    def difference(self) -> Decimal | None:
        if self.ours is None or self.theirs is None:
            return None
        return self.theirs - self.ours


@dataclass
class CheckPage:
    cursor: str  # where the check resumes after this page
    scopes: Sequence[str]  # accounts (or FIRM) fully checked: what is not found there is closed
    findings: list[Finding] = field(default_factory=list)
    not_checked: dict[str, str] = field(default_factory=dict)  # account -> why
    items: int = 0  # figures compared


class RunMisconfigured(Exception):
    """The exchange connection is misconfigured: nothing can be checked until a person fixes it."""


@dataclass
class CheckContext:
    """What a check is told about the run it works for."""

    business_date: dt.date
    window_start: dt.datetime  # exclusive: the previous date's cut-off
    window_end: dt.datetime  # inclusive: this date's cut-off
    timing_grace: dt.timedelta  # how far across the cut-off a partner may fall
    tolerance: Decimal  # money differences at most this large are matched
    accounts: frozenset[str]  # the accounts asked for; empty: all of them
    page_size: int
    # The cut-off of the last run that checked everything cleanly (None: never): reads of
    # activity only need to go back that far.
    last_clean_end: dt.datetime | None = None
    heartbeat: Any = None  # callable: tells the run this process is alive
    # Exchange reads a check made that a later check of the same run may reuse rather than ask
    # again (an account's balance: read once a night, as the exchange asks), by (kind, id): the
    # answer's future, since the asker may be another check's reading thread.
    reads: dict[tuple[str, str], Future[Any]] = field(default_factory=dict)
    exchange_failure: str = ""  # set once the exchange has failed: later pages skip it
    # What checks share for the page of accounts they work on, by kind: (the page's scopes, it).
    page_results: dict[str, tuple[tuple[str, ...], Any]] = field(default_factory=dict)

    def wants(self, account: str) -> bool:
        return not self.accounts or account in self.accounts

    def beat(self) -> None:
        if self.heartbeat is not None:
            self.heartbeat()

    def matches(self, ours: Decimal, theirs: Decimal) -> bool:
        return abs(theirs - ours) <= self.tolerance

    def failed(self, error: GatewayError) -> str:
        """Note an exchange failure and say it in the words `not_checked` records; a
        misconfigured connection stops the run instead."""
        if error.outcome is Outcome.MISCONFIGURED:
            raise RunMisconfigured(misconfiguration(error)) from error
        self.exchange_failure = f"the exchange failed ({error.outcome.value}): {error}"[:300]
        return self.exchange_failure

    def read(self, page: CheckPage, scopes: Sequence[str], call: Callable[[], T]) -> T | None:
        """`call()`'s answer; or None, with `scopes` noted as not checked, when it fails or the
        exchange already failed this run (it is not asked again: no false breaks, no hammering)."""
        if not self.exchange_failure:
            try:
                return call()
            except GatewayError as exc:
                self.failed(exc)
        page.not_checked.update(dict.fromkeys(scopes, self.exchange_failure))
        return None

    def read_each(
        self, page: CheckPage, calls: Iterable[tuple[str, Callable[[], T]]]
    ) -> dict[str, T]:
        """Each scope's answer (`read` of that scope alone), for the scopes that could be read;
        the others are noted as not checked."""
        found: dict[str, T] = {}
        for scope, call in calls:
            answer = self.read(page, [scope], call)
            if answer is not None:
                found[scope] = answer
        return found

    def once(self, key: tuple[str, str], call: Callable[[], T]) -> T:
        """`call()`'s answer, asked of the exchange once a run whichever check asks first: a later
        asker, in any thread, gets the same answer or the same error (waiting for it if it is on
        its way)."""
        future: Future[Any] = Future()
        found = self.reads.setdefault(key, future)
        if found is future:
            try:
                future.set_result(call())
            except BaseException as exc:
                future.set_exception(exc)
        answer: T = found.result()
        return answer

    def for_page(self, kind: str, scopes: Sequence[str], compute: Callable[[], T]) -> T:
        """`compute()` for the page of `scopes`, made once whichever check asks first (the run
        gives checks the same page in turn); only the latest page's is kept."""
        key = tuple(scopes)
        found = self.page_results.get(kind)
        if found is not None and found[0] == key:
            shared: T = found[1]
            return shared
        result = compute()
        self.page_results[kind] = (key, result)
        return result

    def prefetch(
        self, gateway: Gateway, items: Iterable[Item], read: Callable[[Item, Gateway], T]
    ) -> Generator[tuple[Item, T]]:
        """Each of `items` with what `read(item, gateway)` read of the exchange for it, in order.
        The next item's read runs in a background thread while the caller works on this one.

        `items` are made here, in the caller's thread (their database reads stay on its
        connection); the thread records its calls through a HeldRecorder that this thread writes
        once the read is done, and closes the database connection it may open (the shared rate
        limiter's). The gateway is never called inside a transaction: that is checked here, as
        the thread's own connection cannot tell. A read's error is raised here, in order."""
        pending: deque[tuple[Item, HeldRecorder, Future[T]]] = deque()
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reconcile-read")
        try:
            for item in items:
                assert_outside_transaction()
                held = HeldRecorder(gateway.recorder)
                # The thread keeps the run's context (its origin and request id go on each call).
                job = contextvars.copy_context()
                reading = gateway.using(recorder=held)
                pending.append((item, held, pool.submit(job.run, _apart, read, item, reading)))
                if len(pending) > 1:
                    yield _collected(*pending.popleft())
            while pending:
                yield _collected(*pending.popleft())
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            for _, held, _ in pending:
                held.flush()  # calls a read made before the run stopped are recorded too


def _apart(read: Callable[[Item, Gateway], T], item: Item, gateway: Gateway) -> T:
    try:
        return read(item, gateway)
    finally:
        connections.close_all()  # this thread's own connections only


def _collected(item: Item, held: HeldRecorder, future: Future[T]) -> tuple[Item, T]:
    try:
        return item, future.result()
    finally:
        held.flush()


class Check(Protocol):
    name: str  # stable id, stored on breaks and checkpoints: "cash"
    label: str  # what staff read: "Cash balances"

    def pages(self, context: CheckContext, *, after: str) -> Iterator[CheckPage]:
        """The pages from the cursor `after` ("" at the start) to the end."""
        ...


@cache
def _load(path: str) -> Check:
    factory = import_string(path)
    check: Check = factory()
    return check


def configured_checks() -> list[Check]:
    """The checks of BACKOFFICE_RECONCILIATION_CHECKS, in order."""
    return [_load(path) for path in settings.BACKOFFICE_RECONCILIATION_CHECKS]


def check_labels() -> dict[str, str]:
    return {check.name: check.label for check in configured_checks()}
