"""A reconciliation run: one at a time, in pages, each page written with its checkpoint.

`run_begin` claims the one running slot (the database allows a single running run) or resumes a
run whose process died; `run_execute` asks the checks for their pages, one page of each in turn
(so that checks of the same page of accounts can share what they need for it), and writes every
page in one transaction: the breaks it found (one open break per difference, updated rather than
repeated), the breaks of the accounts it checked that it no longer finds (closed, with that
reason), the timing differences, the counts and the cursor to resume after. The number of
queries per page is fixed, whatever the number of accounts or breaks on it.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import time
from collections import Counter
from collections.abc import Callable, Generator, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from backoffice.actors import Actor
from backoffice.audit.services import audit_record
from backoffice.context import current as current_context
from backoffice.reconciliation import dates
from backoffice.reconciliation.checks import (
    Check,
    CheckContext,
    CheckPage,
    Finding,
    RunMisconfigured,
)
from backoffice.reconciliation.models import (
    Break,
    BreakEvent,
    BreakStatus,
    ReconciliationRun,
    RunState,
    TimingDifference,
)

Progress = Callable[[ReconciliationRun, str, CheckPage], None]


class RunRefused(Exception):
    """A run cannot start: another is in progress, or what was asked makes no sense."""


class LeaseLost(Exception):
    """Another process took this run over (this one was presumed dead): stop writing."""


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _lease() -> dt.timedelta:
    return dt.timedelta(seconds=settings.RECONCILIATION_LEASE_SECONDS)


def _holder_alive(run: ReconciliationRun, now: dt.datetime) -> bool:
    """Whether the process holding `run` may still be working on it: its lease has not lapsed,
    unless it ran on this machine and its process is gone (then it is known dead at once)."""
    host, _, pid = run.holder.rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
    return run.lease_until > now


def _origin() -> str:
    context = current_context()
    return (context.origin if context and context.origin else "system")[:100]


def run_begin(
    *, business_date: dt.date, accounts: Sequence[str], checks: Sequence[Check], actor: Actor
) -> ReconciliationRun:
    """The run to work on: a new one, or the interrupted run of the same date and accounts
    (resumed from its checkpoint). Refused while another run is alive."""
    names = [check.name for check in checks]
    if len(set(names)) != len(names):
        raise RunRefused(f"two checks share a name: {names}")
    wanted = sorted(set(accounts))
    now = timezone.now()
    running = ReconciliationRun.objects.filter(state=RunState.RUNNING).first()
    if running is not None:
        if _holder_alive(running, now):
            raise RunRefused(
                f"run #{running.pk} for {running.business_date} is in progress "
                f"(held by {running.holder} since {running.started_at:%Y-%m-%d %H:%M:%S} UTC, "
                f"last heard from {running.heartbeat_at:%H:%M:%S} UTC); this one exits"
            )
        same = running.business_date == business_date and running.accounts == wanted
        if same and running.checks == names:
            return _take_over(running, now, actor)
        _supersede(running, now, business_date)
    window_start, window_end = dates.window(business_date)
    try:
        with transaction.atomic(durable=True):
            run = ReconciliationRun.objects.create(
                business_date=business_date,
                window_start=window_start,
                window_end=window_end,
                accounts=wanted,
                checks=names,
                checkpoint={name: {"cursor": "", "done": False} for name in names},
                counts={
                    name: {"accounts": 0, "items": 0, "breaks": 0, "timing": 0} for name in names
                },
                origin=_origin(),
                holder=_holder(),
                lease_until=now + _lease(),
            )
            audit_record(
                actor=actor,
                action="reconciliation.run.started",
                target=run,
                payload={
                    "business_date": str(business_date),
                    "accounts": len(wanted),
                    "checks": names,
                },
            )
    except IntegrityError:
        raise RunRefused("another run started at the same moment; this one exits") from None
    return run


def _take_over(run: ReconciliationRun, now: dt.datetime, actor: Actor) -> ReconciliationRun:
    """Resume a run whose process died: a conditional move only one caller wins."""
    with transaction.atomic(durable=True):
        moved = ReconciliationRun.objects.filter(
            pk=run.pk, state=RunState.RUNNING, holder=run.holder, lease_until=run.lease_until
        ).update(
            holder=_holder(), lease_until=now + _lease(), heartbeat_at=now, resumes=run.resumes + 1
        )
        if not moved:
            raise RunRefused(f"run #{run.pk} was resumed by another process; this one exits")
        audit_record(
            actor=actor,
            action="reconciliation.run.resumed",
            target=run,
            payload={"previous_holder": run.holder, "checkpoint": run.checkpoint},
        )
    run.refresh_from_db()
    return run


def _supersede(run: ReconciliationRun, now: dt.datetime, business_date: dt.date) -> None:
    """A dead run of other parameters: marked failed, so that the new run may start."""
    with transaction.atomic(durable=True):
        moved = ReconciliationRun.objects.filter(
            pk=run.pk, state=RunState.RUNNING, holder=run.holder, lease_until=run.lease_until
        ).update(
            state=RunState.FAILED,
            finished_at=now,
            error=f"interrupted, then superseded by a run for {business_date}",
        )
        if not moved:
            raise RunRefused(f"run #{run.pk} was resumed by another process; this one exits")
        audit_record(
            actor=None,
            action="reconciliation.run.superseded",
            target=run,
            payload={"by_business_date": str(business_date)},
        )


# --- working through the pages --------------------------------------------------------------------


@dataclass
class _Heartbeat:
    run: ReconciliationRun
    every: float
    last: float

    def __call__(self) -> None:
        """Renew the lease between pages that take long (rate-limited exchange reads)."""
        tick = time.monotonic()
        if tick - self.last < self.every:
            return
        now = timezone.now()
        renewed = ReconciliationRun.objects.filter(
            pk=self.run.pk, holder=self.run.holder, state=RunState.RUNNING
        ).update(lease_until=now + _lease(), heartbeat_at=now)
        if not renewed:
            raise LeaseLost(f"run #{self.run.pk} was taken over by another process")
        self.last = tick


def last_clean_end(before: dt.date) -> dt.datetime | None:
    """The cut-off of the latest complete run of every account before `before`."""
    run = (
        ReconciliationRun.objects.filter(
            state=RunState.COMPLETE, accounts=[], business_date__lt=before
        )
        .order_by("-business_date")
        .only("window_end")
        .first()
    )
    return run.window_end if run else None


def context_for(run: ReconciliationRun) -> CheckContext:
    beat = _Heartbeat(run, every=settings.RECONCILIATION_LEASE_SECONDS / 4, last=time.monotonic())
    return CheckContext(
        business_date=run.business_date,
        window_start=run.window_start,
        window_end=run.window_end,
        timing_grace=dates.timing_grace(),
        tolerance=settings.RECONCILIATION_TOLERANCE,
        accounts=frozenset(run.accounts),
        page_size=settings.RECONCILIATION_PAGE_SIZE,
        last_clean_end=last_clean_end(run.business_date),
        heartbeat=beat,
    )


def run_execute(
    run: ReconciliationRun,
    checks: Sequence[Check],
    *,
    actor: Actor,
    progress: Progress | None = None,
) -> ReconciliationRun:
    """Work `run` to its end: every check from its checkpoint, page by page."""
    context = context_for(run)
    started = time.monotonic()
    by_name = {check.name: check for check in checks}
    todo = [
        (by_name[name], run.checkpoint[name]["cursor"])
        for name in run.checks
        if not run.checkpoint[name]["done"]
    ]
    try:
        with closing(_in_turn(context, todo)) as pages:
            for name, page in pages:
                if page is None:
                    _mark_done(run, name)
                    continue
                _apply_page(run, name, page)
                if progress is not None:
                    progress(run, name, page)
    except RunMisconfigured as exc:
        return _finish(
            run, started, actor, error=f"the exchange connection is misconfigured: {exc}"
        )
    except LeaseLost:
        raise
    except Exception as exc:
        _finish(run, started, actor, error=f"{exc.__class__.__name__}: {exc}")
        raise
    return _finish(run, started, actor)


def _in_turn(
    context: CheckContext, checks: Sequence[tuple[Check, str]]
) -> Generator[tuple[str, CheckPage | None]]:
    """The checks' pages from their cursors, one page of each check in turn, then (name, None)
    once a check has no more. Checks that go through the accounts page by page thus work on the
    same page together (from the same cursor: a resumed run may have them a page apart)."""
    running = [(check.name, check.pages(context, after=cursor)) for check, cursor in checks]
    try:
        while running:
            for entry in list(running):
                name, pages = entry
                page = next(pages, None)
                if page is None:
                    running.remove(entry)
                yield name, page
    finally:
        for _, pages in running:
            if isinstance(pages, Generator):
                pages.close()  # its reading thread stops with it


def _apply_page(run: ReconciliationRun, name: str, page: CheckPage) -> None:
    now = timezone.now()
    findings = {f.key: f for f in page.findings if not f.timing}
    timings = {f.key: f for f in page.findings if f.timing}
    scopes = [scope for scope in page.scopes if scope not in page.not_checked]
    with transaction.atomic(durable=True):
        locked = ReconciliationRun.objects.select_for_update().get(pk=run.pk)
        if locked.holder != run.holder or locked.state != RunState.RUNNING:
            raise LeaseLost(f"run #{run.pk} was taken over by another process")
        events: list[BreakEvent] = []
        opened = _upsert_breaks(run, name, findings, now, events)
        closed = _close_vanished(run, name, scopes, set(findings), now, events)
        BreakEvent.objects.bulk_create(events)
        _record_timings(run, name, timings)

        counts = locked.counts[name]
        counts["accounts"] += len(scopes)
        counts["items"] += page.items
        counts["breaks"] += len(findings)
        counts["timing"] += len(timings)
        locked.checkpoint[name] = {"cursor": page.cursor, "done": False}
        locked.not_checked.update(page.not_checked)
        locked.breaks_found += len(findings)
        locked.breaks_opened += opened
        locked.breaks_closed += closed
        locked.timing_differences += len(timings)
        locked.lease_until = now + _lease()
        locked.heartbeat_at = now
        locked.save(
            update_fields=[
                "counts",
                "checkpoint",
                "not_checked",
                "breaks_found",
                "breaks_opened",
                "breaks_closed",
                "timing_differences",
                "lease_until",
                "heartbeat_at",
            ]
        )
    for field in ("counts", "checkpoint", "not_checked", "breaks_found", "breaks_opened"):
        setattr(run, field, getattr(locked, field))
    run.breaks_closed, run.timing_differences = locked.breaks_closed, locked.timing_differences


_FIGURES = ("break_type", "ours", "theirs", "difference", "unit", "summary", "evidence", "subject")


def _upsert_breaks(
    run: ReconciliationRun,
    name: str,
    findings: dict[str, Finding],
    now: dt.datetime,
    events: list[BreakEvent],
) -> int:
    """One open break per finding: the one already open for its key (its figures brought up to
    date), else a new one. Returns how many are new."""
    label = run.origin
    existing = {
        b.key: b
        for b in Break.objects.filter(
            check_name=name, status=BreakStatus.OPEN, key__in=list(findings)
        )
    }
    new: list[Break] = []
    changed: list[Break] = []
    for key, finding in findings.items():
        values: dict[str, Any] = {
            "break_type": finding.break_type,
            "ours": finding.ours,
            "theirs": finding.theirs,
            "difference": finding.difference,
            "unit": finding.unit,
            "summary": finding.summary[:300],
            "evidence": finding.evidence,
            "subject": finding.subject[:200],
        }
        found = existing.get(key)
        if found is None:
            new.append(
                Break(
                    check_name=name,
                    key=key,
                    account=finding.account,
                    first_run=run,
                    last_run=run,
                    first_date=run.business_date,
                    last_date=run.business_date,
                    opened_at=now,
                    **values,
                )
            )
            continue
        figures_moved = any(getattr(found, f) != values[f] for f in _FIGURES)
        if figures_moved:
            events.append(
                BreakEvent(
                    break_record=found,
                    kind=BreakEvent.Kind.CHANGED,
                    actor_label=label,
                    run=run,
                    text=f"Was: {found.summary}",
                    occurred_at=now,
                )
            )
        for field, value in values.items():
            setattr(found, field, value)
        found.last_run = run
        found.last_date = max(found.last_date, run.business_date)
        changed.append(found)
    Break.objects.bulk_create(new)
    if changed:
        Break.objects.bulk_update(changed, [*_FIGURES, "last_run", "last_date"])
    events.extend(
        BreakEvent(
            break_record=b,
            kind=BreakEvent.Kind.OPENED,
            actor_label=label,
            run=run,
            text=b.summary,
            occurred_at=now,
        )
        for b in new
    )
    return len(new)


def _close_vanished(
    run: ReconciliationRun,
    name: str,
    scopes: list[str],
    seen: set[str],
    now: dt.datetime,
    events: list[BreakEvent],
) -> int:
    """Close the open breaks of the scopes this page checked that the run no longer finds."""
    if not scopes:
        return 0
    vanished = list(
        Break.objects.filter(
            check_name=name,
            status=BreakStatus.OPEN,
            account__in=scopes,
            last_date__lte=run.business_date,
        )
        .exclude(last_run=run)
        .exclude(key__in=list(seen))
        .values_list("id", flat=True)
    )
    if not vanished:
        return 0
    Break.objects.filter(id__in=vanished).update(
        status=BreakStatus.CLOSED, closed_at=now, closed_by_run=run
    )
    reason = f"No longer found by run #{run.pk} for {run.business_date}."
    events.extend(
        BreakEvent(
            break_record_id=pk,
            kind=BreakEvent.Kind.CLOSED,
            actor_label=run.origin,
            run=run,
            text=reason,
            occurred_at=now,
        )
        for pk in vanished
    )
    return len(vanished)


def _record_timings(run: ReconciliationRun, name: str, timings: dict[str, Finding]) -> None:
    """A timing difference carried by an earlier date's run is matched by this one; otherwise
    it is carried from this run to the next."""
    if not timings:
        return
    carried = TimingDifference.objects.filter(
        check_name=name,
        key__in=list(timings),
        status=TimingDifference.Status.CARRIED,
        run__business_date__lt=run.business_date,
    )
    matched = set(carried.values_list("key", flat=True))
    if matched:
        carried.filter(key__in=list(matched)).update(
            status=TimingDifference.Status.MATCHED, matched_run=run
        )
    TimingDifference.objects.bulk_create(
        [
            TimingDifference(
                check_name=name,
                key=key,
                account=f.account,
                subject=f.subject[:200],
                summary=f.summary[:300],
                evidence=f.evidence,
                run=run,
                status=TimingDifference.Status.MATCHED
                if key in matched
                else TimingDifference.Status.CARRIED,
            )
            for key, f in timings.items()
        ],
        ignore_conflicts=True,
    )


def _mark_done(run: ReconciliationRun, name: str) -> None:
    with transaction.atomic(durable=True):
        locked = ReconciliationRun.objects.select_for_update().get(pk=run.pk)
        if locked.holder != run.holder or locked.state != RunState.RUNNING:
            raise LeaseLost(f"run #{run.pk} was taken over by another process")
        locked.checkpoint[name]["done"] = True
        locked.save(update_fields=["checkpoint"])
    run.checkpoint = locked.checkpoint


def open_breaks_by_type() -> dict[str, int]:
    rows = (
        Break.objects.filter(status=BreakStatus.OPEN)
        .values("break_type")
        .annotate(n=Count("id"))
        .order_by("break_type")
    )
    return {row["break_type"]: row["n"] for row in rows}


def _finish(
    run: ReconciliationRun, started: float, actor: Actor, *, error: str = ""
) -> ReconciliationRun:
    now = timezone.now()
    with transaction.atomic(durable=True):
        locked = ReconciliationRun.objects.select_for_update().get(pk=run.pk)
        if locked.holder != run.holder or locked.state != RunState.RUNNING:
            raise LeaseLost(f"run #{run.pk} was taken over by another process")
        if error:
            locked.state = RunState.FAILED
            locked.error = error[:500]
        else:
            locked.state = RunState.INCOMPLETE if locked.not_checked else RunState.COMPLETE
        locked.finished_at = now
        locked.seconds = locked.seconds + (time.monotonic() - started)
        locked.open_by_type = open_breaks_by_type()
        locked.save(update_fields=["state", "error", "finished_at", "seconds", "open_by_type"])
        audit_record(
            actor=actor,
            action=f"reconciliation.run.{locked.state}",
            target=locked,
            payload={
                "business_date": str(locked.business_date),
                "breaks_found": locked.breaks_found,
                "breaks_opened": locked.breaks_opened,
                "breaks_closed": locked.breaks_closed,
                "not_checked": len(locked.not_checked),
                "error": locked.error,
            },
        )
    return locked


def exit_code(run: ReconciliationRun) -> int:
    """0 clean, 1 breaks, 2 the run failed or could not check everything."""
    if run.state in (RunState.FAILED, RunState.INCOMPLETE):
        return 2
    return 1 if run.breaks_found else 0


def summary(run: ReconciliationRun) -> dict[str, Any]:
    """The one-line JSON a run prints at its end."""
    open_now = Break.objects.filter(status=BreakStatus.OPEN).count()
    by_type = Counter(
        Break.objects.filter(last_run=run, status=BreakStatus.OPEN).values_list(
            "break_type", flat=True
        )
    )
    return {
        "run": run.pk,
        "business_date": str(run.business_date),
        "state": run.state,
        "exit": exit_code(run),
        "breaks": {
            "found": run.breaks_found,
            "opened": run.breaks_opened,
            "closed": run.breaks_closed,
            "by_type": dict(sorted(by_type.items())),
            "open_in_total": open_now,
        },
        "timing_differences": run.timing_differences,
        "checks": run.counts,
        "not_checked": sorted(run.not_checked),
        "not_checked_reasons": sorted(set(run.not_checked.values())),
        "resumes": run.resumes,
        "seconds": round(run.seconds, 3),
        "error": run.error,
    }


def run_dry(
    *, business_date: dt.date, accounts: Sequence[str], checks: Sequence[Check]
) -> dict[str, Any]:
    """What a run would find, written nowhere: no run, no break, no checkpoint."""
    window_start, window_end = dates.window(business_date)
    context = CheckContext(
        business_date=business_date,
        window_start=window_start,
        window_end=window_end,
        timing_grace=dates.timing_grace(),
        tolerance=settings.RECONCILIATION_TOLERANCE,
        accounts=frozenset(accounts),
        page_size=settings.RECONCILIATION_PAGE_SIZE,
        last_clean_end=last_clean_end(business_date),
    )
    found: list[tuple[str, Finding]] = []
    not_checked: dict[str, str] = {}
    with closing(_in_turn(context, [(check, "") for check in checks])) as pages:
        for name, page in pages:
            if page is not None:
                found.extend((name, f) for f in page.findings)
                not_checked.update(page.not_checked)
    breaks = [f for _, f in found if not f.timing]
    return {
        "dry_run": True,
        "business_date": str(business_date),
        "breaks": {
            "found": len(breaks),
            "by_type": dict(sorted(Counter(str(f.break_type) for f in breaks).items())),
        },
        "timing_differences": len(found) - len(breaks),
        "not_checked": sorted(not_checked),
        "exit": 2 if not_checked else (1 if breaks else 0),
        "findings": [
            {
                "check": name,
                "key": f.key,
                "type": str(f.break_type),
                "timing": f.timing,
                "summary": f.summary,
            }
            for name, f in found
        ],
    }
