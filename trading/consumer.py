"""The mirror's consumer (`manage.py trading_stream`): holds the lease, follows every stream in a
thread of its own, applies each batch in one transaction with its resume token, and repairs what
the streams cannot deliver.

Per stream, the loop is: resume (by token; by time after a refused token or a repair; or from a
cold start's backfill), apply batch after batch, and on any failure reconnect after a backoff that
doubles from 1 s to 30 s (reset by the next batch). A refused token (INVALID_ARGUMENT) is a gap:
recorded, repaired (executions from the report downloads, the other streams by resuming from the
last event's time, which the exchange keeps for them), then the stream resumes by time. A lost
lease stops every stream; the process goes back to waiting as a standby.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from backoffice.context import command_context
from backoffice.gateway import results as r
from backoffice.gateway.client import Gateway
from backoffice.gateway.errors import GatewayError, InvalidArgument, Outcome
from backoffice.gateway.streams import Batch, StreamClient
from trading import mirror
from trading.backfill import backfill_executions, unfinished_gaps
from trading.bulk import db_time, execute
from trading.errors import LeaseLost
from trading.instruments import settlements_fetch
from trading.lease import fence, lease_acquire, lease_release, lease_renew, lease_seconds
from trading.models import FeedGap, Stream, StreamCursor
from trading.scales import MirrorScales

logger = logging.getLogger(__name__)

BACKOFF_START_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 30.0
# Resuming by time starts this much before the last event applied: delivery is at least once and
# duplicates are ignored, so overlap costs nothing and guards against events of the same moment.
RESUME_OVERLAP = dt.timedelta(seconds=5)
POSITIONS_FROM_THE_START = dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Resume:
    token: bytes = b""
    time: dt.datetime | None = None


def retention() -> dt.timedelta:
    return dt.timedelta(days=float(settings.TRADING_RETENTION_DAYS))


def cursor_for(environment: str, stream: str) -> StreamCursor:
    cursor, _ = StreamCursor.objects.get_or_create(environment=environment, stream=stream)
    return cursor


class Consumer:
    def __init__(
        self,
        *,
        environment: str,
        holder: str,
        gateway: Gateway,
        client: StreamClient,
        streams: Sequence[str] = tuple(Stream.values),
        once: bool = False,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.environment = environment
        self.holder = holder
        self.gateway = gateway
        self.client = client
        self.streams = list(streams)
        self.once = once
        self._sleep = sleep
        self.stopping = threading.Event()  # every stream thread stops
        self.lost = threading.Event()  # the lease went to another consumer
        self.failed = threading.Event()  # a stream failed in a way no reconnect mends
        self.scales = MirrorScales(gateway)

    # --- the process: standby, lead, stop ------------------------------------------------------

    def run(self, *, stop: threading.Event) -> None:
        """Wait for the lease, follow the streams while it is held; return when `stop` is set
        (or, with `once`, when every stream has caught up)."""
        while not stop.is_set():
            if not lease_acquire(environment=self.environment, holder=self.holder):
                stop.wait(1.0)
                continue
            logger.info("holding the %s stream lease as %s", self.environment, self.holder)
            finished = self._lead(stop)
            if finished:
                return

    def _lead(self, stop: threading.Event) -> bool:
        """Follow every stream until the lease is lost or `stop`; True when done for good."""
        self.stopping.clear()
        self.lost.clear()
        threads = [
            threading.Thread(target=self._thread, args=(name,), name=f"stream-{name}", daemon=True)
            for name in self.streams
        ]
        for thread in threads:
            thread.start()
        renew_every = lease_seconds() / 3
        while any(t.is_alive() for t in threads):
            if stop.wait(renew_every) or self.stopping.is_set():
                break
            if not lease_renew(environment=self.environment, holder=self.holder):
                self.lost.set()
                break
        self.stopping.set()
        self.client.cancel_all()
        for thread in threads:
            thread.join()
        if self.lost.is_set():
            logger.warning("lost the %s stream lease; standing by", self.environment)
            connection.close()
            return False
        lease_release(environment=self.environment, holder=self.holder)
        connection.close()
        if self.failed.is_set():
            raise RuntimeError("a stream failed; see the log above")
        return True

    def _thread(self, name: str) -> None:
        try:
            with command_context("trading_stream"):
                self.follow(name)
        except LeaseLost:
            logger.warning("stream %s: lease lost", name)
            self.lost.set()
            self.stopping.set()
        except Exception:
            logger.exception("stream %s stopped", name)
            self.failed.set()
            self.stopping.set()
        finally:
            connection.close()

    # --- one stream ----------------------------------------------------------------------------

    def follow(self, name: str) -> None:
        delay = BACKOFF_START_SECONDS
        while not self.stopping.is_set():
            cursor = cursor_for(self.environment, name)
            try:
                resume = self._resume_point(name, cursor)
                for batch in self._open(name, resume):
                    self.commit(name, batch)
                    if name == Stream.INSTRUMENTS and batch.items:
                        # After the commit: a market that settled gets its settlement price.
                        settlements_fetch(
                            gateway=self.gateway, symbols=[i.symbol for i in batch.items]
                        )
                    delay = BACKOFF_START_SECONDS
                    if self.once and not batch.items:
                        return
            except GatewayError as exc:
                if self.stopping.is_set():
                    return
                if isinstance(exc, InvalidArgument) and resume.token:
                    self._token_refused(name, cursor, exc)
                    continue
                self._disconnected(name, exc)
                if exc.outcome is Outcome.MISCONFIGURED:
                    delay = BACKOFF_CAP_SECONDS
                self._sleep(delay)
                delay = min(delay * 2, BACKOFF_CAP_SECONDS)
                continue
            if self.stopping.is_set():
                return
            # The exchange ended the stream without an error: reconnect at once.

    def _resume_point(self, name: str, cursor: StreamCursor) -> Resume:
        if name == Stream.EXECUTIONS:
            for gap in unfinished_gaps(self.environment, name):
                self._repair(gap)
                cursor.refresh_from_db()
        if cursor.resume_token:
            return Resume(token=bytes(cursor.resume_token))
        if cursor.last_event_time is not None:
            return Resume(time=cursor.last_event_time - RESUME_OVERLAP)
        now = timezone.now()
        if name == Stream.EXECUTIONS:
            gap = FeedGap.objects.create(
                environment=self.environment,
                stream=name,
                reason=FeedGap.Reason.COLD_START,
                window_start=now - retention(),
                window_end=now,
            )
            self._repair(gap)
            return Resume(time=now - RESUME_OVERLAP)
        if name == Stream.TRADES:
            return Resume(time=now - retention())
        if name == Stream.POSITIONS:
            return Resume(time=POSITIONS_FROM_THE_START)
        return Resume()  # instruments: every current state, then changes; orders: a snapshot

    def _repair(self, gap: FeedGap) -> None:
        backfill_executions(
            gap=gap, holder=self.holder, gateway=self.gateway, scales=self.scales.lookup
        )

    def _open(self, name: str, resume: Resume) -> Iterator[Batch[Any]]:
        c = self.client
        lookup = self.scales.lookup
        if name == Stream.EXECUTIONS:
            return c.executions(scales=lookup, resume_token=resume.token, resume_time=resume.time)
        if name == Stream.TRADES:
            return c.trades(scales=lookup, resume_token=resume.token, resume_time=resume.time)
        if name == Stream.POSITIONS:
            return c.position_changes(
                scales=lookup, resume_token=resume.token, resume_time=resume.time
            )
        if name == Stream.INSTRUMENTS:
            return c.instrument_states(resume_token=resume.token, resume_time=resume.time)
        return self._order_batches()

    def _order_batches(self) -> Iterator[Batch[Any]]:
        """The order stream as batches without tokens: snapshot pages and updates."""
        for event in self.client.orders(scales=self.scales.lookup):
            items: list[Any] = [*event.snapshot, *event.executions]
            if event.cancel_reject:
                logger.info("cancel rejected: %s", event.cancel_reject)
            yield Batch(b"", items)

    def _apply(self, name: str, items: list[Any]) -> mirror.Applied:
        if name == Stream.EXECUTIONS:
            return mirror.apply_executions(items)
        if name == Stream.TRADES:
            return mirror.apply_trades(items)
        if name == Stream.POSITIONS:
            return mirror.apply_positions(items)
        if name == Stream.INSTRUMENTS:
            applied = mirror.apply_instruments(items)
            self.scales.forget(i.symbol for i in items)
            return applied
        orders = [i for i in items if isinstance(i, r.Order)]
        executions = [i for i in items if isinstance(i, r.Execution)]
        snapshot = mirror.apply_orders(orders)
        updates = mirror.apply_executions(executions)
        return mirror.Applied(snapshot.new + updates.new, updates.last_event_time)

    def commit(self, name: str, batch: Batch[Any]) -> None:
        """Apply one batch and move the stream's cursor past it, in one transaction."""
        now = timezone.now()
        with transaction.atomic(durable=True):
            fence(environment=self.environment, holder=self.holder)
            applied = self._apply(name, batch.items) if batch.items else mirror.Applied(0, None)
            changes: dict[str, Any] = {
                "events_applied": F("events_applied") + applied.new,
                "last_message_at": now,
                "connected": True,
                "connected_since": Case(
                    When(connected=True, then=F("connected_since")), default=Value(now)
                ),
                "updated_at": now,
            }
            if batch.resume_token:
                changes["resume_token"] = batch.resume_token
            latest = applied.last_event_time
            if latest is not None:
                changes["last_event_time"] = Case(
                    When(last_event_time__gt=latest, then=F("last_event_time")),
                    default=Value(latest),
                )
            StreamCursor.objects.filter(environment=self.environment, stream=name).update(**changes)
            if applied.new:
                count_minute(self.environment, name, now, applied.new)

    def _disconnected(self, name: str, exc: GatewayError) -> None:
        logger.warning("stream %s: %s; reconnecting", name, exc)
        StreamCursor.objects.filter(environment=self.environment, stream=name).update(
            connected=False,
            connected_since=None,
            reconnects=F("reconnects") + 1,
            last_error=str(exc)[:300],
            updated_at=timezone.now(),
        )

    def _token_refused(self, name: str, cursor: StreamCursor, exc: GatewayError) -> None:
        """The exchange no longer honours the token: record the gap, repair it, resume by time."""
        now = timezone.now()
        start = cursor.last_event_time or now - retention()
        with transaction.atomic(durable=True):
            fence(environment=self.environment, holder=self.holder)
            gap = FeedGap.objects.create(
                environment=self.environment,
                stream=name,
                reason=FeedGap.Reason.TOKEN_REFUSED,
                window_start=start,
                window_end=now,
                detail=exc.message[:300],
            )
            StreamCursor.objects.filter(pk=cursor.pk).update(
                resume_token=b"", last_error=str(exc)[:300], updated_at=now
            )
            if name != Stream.EXECUTIONS:
                # The exchange keeps trades, positions and instrument states: resuming by time
                # from the last event is the repair.
                FeedGap.objects.filter(pk=gap.pk).update(
                    repaired_at=now, repaired_through=now, method="resumed by time"
                )
        if name == Stream.EXECUTIONS:
            self._repair(gap)
            StreamCursor.objects.filter(pk=cursor.pk).update(
                last_event_time=Case(
                    When(last_event_time__gt=now, then=F("last_event_time")), default=Value(now)
                )
            )


def count_minute(environment: str, stream: str, now: dt.datetime, events: int) -> None:
    minute = now.replace(second=0, microsecond=0)
    execute(
        "INSERT INTO trading_feedminute (environment, stream, minute, events) "
        "VALUES (%s, %s, %s, %s) ON CONFLICT (environment, stream, minute) "
        "DO UPDATE SET events = trading_feedminute.events + excluded.events",
        [environment, stream, db_time(minute), events],
    )
