"""The servicers: each stream is authenticated when it starts, counted against the firm's cap, then
replays and follows its feed (sandbox.streams.feeds) until the client leaves or the exchange drops
it.

Checks, in order (as the REST app orders them): injected faults (family `streams`), the bearer
token in the `authorization` metadata (UNAUTHENTICATED), the scope (PERMISSION_DENIED), the
request (INVALID_ARGUMENT, PERMISSION_DENIED for another firm's account or firm, ABORTED for a
suppressed ledger entry type, as on REST), then the cap of concurrent streams per firm
(RESOURCE_EXHAUSTED). A stream the operator drops ends UNAVAILABLE, the documented "reconnect"
code.

Choices where the docs are silent (also in the README):
- a stream whose first look finds nothing to send says so at once with an empty batch (and its
  resume token), so a client knows the subscription is live and caught up;
- an expired, foreign or tampered resume token is INVALID_ARGUMENT (streams.tokens);
- the order stream's snapshot comes in pages of `stream_batch_size` orders, one message each;
- the funding stream's `server_time` lags the moment it read by a second, so resuming from it can
  repeat a change (delivery is at least once) but never miss one committed meanwhile.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterator
from datetime import UTC, timedelta
from typing import NoReturn, TypeVar

import grpc
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from polymarket.v1 import (
    dropcopy_pb2,
    dropcopy_pb2_grpc,
    funding_pb2,
    funding_pb2_grpc,
    order_entry_pb2,
    order_entry_pb2_grpc,
    refdata_pb2,
)
from sandbox import firms, ledger, wire
from sandbox.auth import Caller
from sandbox.env import Env
from sandbox.errors import ApiError, Code, denied, invalid
from sandbox.faults import STATUS_CODES
from sandbox.streams import feeds
from sandbox.streams.control import CapReached, OpenStream, Streams
from sandbox.streams.tokens import Cursor, TokenRefused, Topic

log = logging.getLogger("sandbox.streams")
M = TypeVar("M", bound=Message)
R = TypeVar("R", bound=Message)

EXECUTIONS = feeds.Executions()
TRADES = feeds.Trades()
POSITIONS = feeds.Positions()
INSTRUMENTS = feeds.Instruments()
BALANCE_LEDGER = feeds.BalanceLedger()
FUNDING = feeds.FundingTransactions()
# A reason filter no cash movement matches (every movement has one of the three reasons).
NO_REASON = ("",)


class Dropped(Exception):
    """The operator dropped every open stream."""


class Gone(Exception):
    """The client cancelled or went away."""


def _abort(context: grpc.ServicerContext, code: Code, message: str) -> NoReturn:
    context.abort(grpc.StatusCode[code.name], message)
    raise AssertionError("context.abort returns only by raising")


class StreamServer:
    """What the three servicers share: the checks and the replay-then-follow loop."""

    def __init__(self, env: Env, streams: Streams) -> None:
        self.env = env
        self.streams = streams

    # ---- start of a stream ----

    def serve(
        self,
        context: grpc.ServicerContext,
        method: str,
        scope: str,
        body: Callable[[Caller, OpenStream], Iterator[R]],
        prepare: Callable[[Caller], object] = lambda caller: None,
    ) -> Iterator[R]:
        """Run one stream: faults, caller, scope, `prepare` (request checks), cap, then `body`."""
        try:
            self._inject_faults()
            caller = self._caller(context, scope)
            prepare(caller)
            try:
                stream = self.streams.open(caller.firm_id, method)
            except CapReached:
                raise ApiError(
                    Code.RESOURCE_EXHAUSTED,
                    f"at most {self.streams.cap} concurrent streams per firm",
                ) from None
        except ApiError as exc:
            _abort(context, exc.code, exc.message)
        if not context.add_callback(lambda: self.streams.client_gone(stream)):
            self.streams.client_gone(stream)  # the call ended before the callback could be set
        try:
            yield from body(caller, stream)
        except ApiError as exc:
            _abort(context, exc.code, exc.message)
        except Dropped:
            _abort(context, Code.UNAVAILABLE, "stream dropped by the exchange; reconnect")
        except Gone:
            return
        finally:
            self.streams.close(stream)

    def _inject_faults(self) -> None:
        faults = self.env.faults
        limited = faults.draw("streams", {"rate_limit"})
        if limited is not None:
            raise ApiError(Code.RESOURCE_EXHAUSTED, "rate limit exceeded")
        failing = faults.draw("streams", {"error"})
        if failing is not None:
            raise ApiError(Code(STATUS_CODES[failing.status]), "injected fault")

    def _caller(self, context: grpc.ServicerContext, scope: str) -> Caller:
        metadata = {key: str(value) for key, value in context.invocation_metadata()}
        caller = self.env.auth.verify_bearer(
            metadata.get("authorization"), self.env.settings.base_url
        )
        if scope not in caller.scopes:
            raise denied(f"permission denied: missing required scope {scope}")
        return caller

    def own_firm(self, caller: Caller, names: list[str]) -> None:
        """`firms` may name only the caller's own firm (in any of its documented spellings)."""
        own = {caller.firm_id, f"ISV-{caller.firm_id}", firms.participant_firm(caller.firm_id)}
        for name in names:
            if name.removeprefix("firms/") not in own:
                raise denied("permission denied: firms may name only the caller's own firm")

    def own_accounts(self, caller: Caller, accounts: list[str], field: str) -> tuple[str, ...]:
        for account in accounts:
            row = self.env.store.db.execute(
                "SELECT firm_id FROM accounts WHERE account = ?", (account,)
            ).fetchone()
            if row is None or row["firm_id"] != caller.firm_id:
                raise denied(f"permission denied: {field} does not belong to the caller")
        return tuple(accounts)

    def start_cursor(
        self,
        topic: Topic | None,
        feed: feeds.Feed[M],
        scope: feeds.Scope,
        token: bytes,
        resume_time: Timestamp | None,
    ) -> Cursor:
        """Where a stream begins: after its token, before its time, or at the head (live only)."""
        db = self.env.store.db
        if token and resume_time is not None:
            raise invalid("resume_token and resume_time are mutually exclusive")
        if token:
            assert topic is not None
            try:
                cursor = self.streams.tokens.read(topic, token)
            except TokenRefused as exc:
                raise invalid(str(exc)) from None
            if self.env.faults.draw("streams", {"duplicate"}) is not None:
                # The exchange re-sends the batch the client last received (at least once).
                return Cursor(after=cursor.redo, redo=cursor.redo)
            return cursor
        if resume_time is not None:
            moment = wire.ts(resume_time.ToDatetime(tzinfo=UTC))
            if feed is BALANCE_LEDGER:
                moment = max(moment, ledger.FLOOR)
            at = feed.position_at(db, moment, scope)
            return Cursor(after=at, redo=at)
        head = feed.head(db)
        return Cursor(after=head, redo=head)

    # ---- the loop ----

    def follow(
        self,
        stream: OpenStream,
        feed: feeds.Feed[M],
        scope: feeds.Scope,
        cursor: Cursor,
        respond: Callable[[Cursor, list[M]], R],
        *,
        greet: bool = True,
    ) -> Iterator[R]:
        """Replay from `cursor` to the present, then follow live, with heartbeats in between."""
        store, settings = self.env.store, self.env.settings
        last_sent = None if greet else time.monotonic()
        while True:
            self.check(stream)
            seen = store.commits
            db = store.db
            upto = feed.head(db)
            rows = (
                feed.read(db, cursor.after, upto, settings.stream_batch_size, scope)
                if upto > cursor.after
                else []
            )
            if rows:
                delay = self.env.faults.draw("streams", {"latency"})
                if delay is not None:
                    time.sleep(delay.latency_ms / 1000)
                # Fewer rows than asked for: everything up to the head has been looked at.
                after = rows[-1][0] if len(rows) == settings.stream_batch_size else upto
                cursor = Cursor(after=after, redo=cursor.after)
                stream.batches += 1
                stream.events += len(rows)
                yield respond(cursor, [message for _, message in rows])
                last_sent = time.monotonic()
                continue
            cursor = Cursor(after=max(cursor.after, upto), redo=cursor.redo)
            now = time.monotonic()
            if last_sent is None or now - last_sent >= settings.stream_heartbeat:
                stream.batches += 1
                yield respond(cursor, [])
                last_sent = now
            store.wait_for_commit(seen, settings.stream_heartbeat - (now - last_sent))

    def check(self, stream: OpenStream) -> None:
        if stream.dropped:
            raise Dropped
        if stream.closed:
            raise Gone

    def token(self, topic: Topic, cursor: Cursor) -> bytes:
        return self.streams.tokens.issue(topic, cursor)


class DropCopy(dropcopy_pb2_grpc.DropCopyAPIServicer):
    """Firm-wide executions, trades, position changes; instrument states (API.md 6.3)."""

    def __init__(self, server: StreamServer) -> None:
        self.server = server

    def _replay(
        self,
        context: grpc.ServicerContext,
        method: str,
        request: dropcopy_pb2.CreateDropCopySubscriptionRequest
        | dropcopy_pb2.CreateTradeCaptureReportSubscriptionRequest
        | dropcopy_pb2.CreatePositionChangeSubscriptionRequest,
        topic: Topic,
        feed: feeds.Feed[M],
        respond: Callable[[bytes, list[M]], R],
    ) -> Iterator[R]:
        server = self.server
        start: dict[str, Cursor] = {}

        def prepare(caller: Caller) -> None:
            server.own_firm(caller, list(request.firms))
            start["cursor"] = server.start_cursor(
                topic,
                feed,
                feeds.Scope(caller.firm_id),
                request.resume_token,
                request.resume_time if request.HasField("resume_time") else None,
            )

        def body(caller: Caller, stream: OpenStream) -> Iterator[R]:
            scope = feeds.Scope(caller.firm_id, symbols=tuple(request.symbols))
            yield from server.follow(
                stream,
                feed,
                scope,
                start["cursor"],
                lambda cursor, events: respond(server.token(topic, cursor), events),
            )

        return server.serve(context, method, "read:dropcopy", body, prepare)

    def CreateDropCopySubscription(
        self,
        request: dropcopy_pb2.CreateDropCopySubscriptionRequest,
        context: grpc.ServicerContext,
    ) -> Iterator[dropcopy_pb2.CreateDropCopySubscriptionResponse]:
        return self._replay(
            context,
            "CreateDropCopySubscription",
            request,
            Topic.EXECUTIONS,
            EXECUTIONS,
            lambda token, events: dropcopy_pb2.CreateDropCopySubscriptionResponse(
                resume_token=token, executions=events
            ),
        )

    def CreateTradeCaptureReportSubscription(
        self,
        request: dropcopy_pb2.CreateTradeCaptureReportSubscriptionRequest,
        context: grpc.ServicerContext,
    ) -> Iterator[dropcopy_pb2.CreateTradeCaptureReportSubscriptionResponse]:
        return self._replay(
            context,
            "CreateTradeCaptureReportSubscription",
            request,
            Topic.TRADES,
            TRADES,
            lambda token, events: dropcopy_pb2.CreateTradeCaptureReportSubscriptionResponse(
                resume_token=token, trade_capture_reports=events
            ),
        )

    def CreatePositionChangeSubscription(
        self,
        request: dropcopy_pb2.CreatePositionChangeSubscriptionRequest,
        context: grpc.ServicerContext,
    ) -> Iterator[dropcopy_pb2.CreatePositionChangeSubscriptionResponse]:
        return self._replay(
            context,
            "CreatePositionChangeSubscription",
            request,
            Topic.POSITIONS,
            POSITIONS,
            lambda token, events: dropcopy_pb2.CreatePositionChangeSubscriptionResponse(
                resume_token=token, position_changes=events
            ),
        )

    def CreateInstrumentStateChangeSubscription(
        self,
        request: dropcopy_pb2.CreateInstrumentStateChangeSubscriptionRequest,
        context: grpc.ServicerContext,
    ) -> Iterator[dropcopy_pb2.CreateInstrumentStateChangeSubscriptionResponse]:
        server = self.server
        scope = feeds.Scope("", symbols=tuple(request.symbols))
        resume_time = request.resume_time if request.HasField("resume_time") else None
        replay = bool(request.resume_token) or resume_time is not None
        start: dict[str, Cursor] = {}

        def respond(
            cursor: Cursor, events: list[refdata_pb2.Instrument]
        ) -> dropcopy_pb2.CreateInstrumentStateChangeSubscriptionResponse:
            return dropcopy_pb2.CreateInstrumentStateChangeSubscriptionResponse(
                resume_token=server.token(Topic.INSTRUMENTS, cursor), instruments=events
            )

        def prepare(caller: Caller) -> None:
            if replay:
                start["cursor"] = server.start_cursor(
                    Topic.INSTRUMENTS, INSTRUMENTS, scope, request.resume_token, resume_time
                )

        def body(
            caller: Caller, stream: OpenStream
        ) -> Iterator[dropcopy_pb2.CreateInstrumentStateChangeSubscriptionResponse]:
            if replay:
                yield from server.follow(stream, INSTRUMENTS, scope, start["cursor"], respond)
                return
            # Neither resume field: every instrument's current state, in pages, then live. The
            # head is read first, so a change made meanwhile is sent again rather than missed.
            db = server.env.store.db
            head = INSTRUMENTS.head(db)
            cursor = Cursor(after=head, redo=head)
            current = INSTRUMENTS.snapshot(db, scope)
            size = server.env.settings.stream_batch_size
            for offset in range(0, max(len(current), 1), size):
                server.check(stream)
                yield respond(cursor, current[offset : offset + size])
            yield from server.follow(stream, INSTRUMENTS, scope, cursor, respond, greet=False)

        return server.serve(
            context, "CreateInstrumentStateChangeSubscription", "read:instruments", body, prepare
        )


class Funding(funding_pb2_grpc.FundingAPIServicer):
    """The per-account balance ledger and the funding transactions (API.md 6.4)."""

    def __init__(self, server: StreamServer) -> None:
        self.server = server

    def CreateBalanceLedgerSubscription(
        self,
        request: funding_pb2.CreateBalanceLedgerSubscriptionRequest,
        context: grpc.ServicerContext,
    ) -> Iterator[funding_pb2.CreateBalanceLedgerSubscriptionResponse]:
        server = self.server
        start: dict[str, object] = {}

        def prepare(caller: Caller) -> None:
            account = request.account.strip()
            if not account:
                raise invalid("account is required")
            server.own_accounts(caller, [account], "account")
            kinds = []
            for number in request.entry_types:
                try:
                    name = ledger.parse_entry_type(funding_pb2.LedgerEntryType.Name(number))
                except ValueError:
                    raise invalid(f"entry_types: unknown type {number}") from None
                if name in ledger.SUPPRESSED_TYPES:
                    raise ApiError(Code.ABORTED, f"entry type {name} is not available")
                if name not in ledger.ALLOWED_TYPES:
                    raise invalid(f"entry_types: unknown type {number}")
                kinds.append(name)
            scope = feeds.Scope(
                caller.firm_id,
                accounts=(account,),
                kinds=tuple(kinds),
                currency=request.currency.strip().upper(),
            )
            resume_time = request.resume_time if request.HasField("resume_time") else None
            start["scope"] = scope
            start["cursor"] = server.start_cursor(None, BALANCE_LEDGER, scope, b"", resume_time)

        def body(
            caller: Caller, stream: OpenStream
        ) -> Iterator[funding_pb2.CreateBalanceLedgerSubscriptionResponse]:
            scope, cursor = start["scope"], start["cursor"]
            assert isinstance(scope, feeds.Scope)
            assert isinstance(cursor, Cursor)
            yield from server.follow(
                stream,
                BALANCE_LEDGER,
                scope,
                cursor,
                lambda _, events: funding_pb2.CreateBalanceLedgerSubscriptionResponse(
                    entries=events
                ),
            )

        return server.serve(
            context, "CreateBalanceLedgerSubscription", "read:positions", body, prepare
        )

    def CreateFundingTransactionSubscription(
        self,
        request: funding_pb2.CreateFundingTransactionSubscriptionRequest,
        context: grpc.ServicerContext,
    ) -> Iterator[funding_pb2.CreateFundingTransactionSubscriptionResponse]:
        server = self.server
        start: dict[str, object] = {}

        def prepare(caller: Caller) -> None:
            accounts = server.own_accounts(caller, list(request.account_ids), "account_ids")
            reasons = tuple(
                feeds.REASONS[t] for t in request.transaction_types if t in feeds.REASONS
            )
            if not server.env.settings.funding_stream_transfers or (
                request.transaction_types and not reasons
            ):
                reasons = NO_REASON
            scope = feeds.Scope(caller.firm_id, accounts=accounts, kinds=reasons)
            resume_time = request.resume_time if request.HasField("resume_time") else None
            start["scope"] = scope
            start["cursor"] = server.start_cursor(None, FUNDING, scope, b"", resume_time)

        def respond(
            _: Cursor, events: list[funding_pb2.FundingTransactionChange]
        ) -> funding_pb2.CreateFundingTransactionSubscriptionResponse:
            server_time = Timestamp()
            server_time.FromDatetime(wire.now() - timedelta(seconds=1))
            return funding_pb2.CreateFundingTransactionSubscriptionResponse(
                changes=events, server_time=server_time
            )

        def body(
            caller: Caller, stream: OpenStream
        ) -> Iterator[funding_pb2.CreateFundingTransactionSubscriptionResponse]:
            scope, cursor = start["scope"], start["cursor"]
            assert isinstance(scope, feeds.Scope)
            assert isinstance(cursor, Cursor)
            yield from server.follow(stream, FUNDING, scope, cursor, respond)

        return server.serve(
            context, "CreateFundingTransactionSubscription", "read:funding", body, prepare
        )


class OrderEntry(order_entry_pb2_grpc.OrderEntryAPIServicer):
    """Open orders, then their executions as they happen (API.md 6.2); no resume."""

    def __init__(self, server: StreamServer) -> None:
        self.server = server

    def CreateOrderSubscription(
        self,
        request: order_entry_pb2.CreateOrderSubscriptionRequest,
        context: grpc.ServicerContext,
    ) -> Iterator[order_entry_pb2.CreateOrderSubscriptionResponse]:
        server = self.server
        session_id = "session_" + secrets.token_hex(8)
        start: dict[str, feeds.Scope] = {}

        def respond(
            *,
            snapshot: order_entry_pb2.OrderSnapshot | None = None,
            update: order_entry_pb2.OrderUpdate | None = None,
        ) -> order_entry_pb2.CreateOrderSubscriptionResponse:
            sent = Timestamp()
            sent.GetCurrentTime()
            return order_entry_pb2.CreateOrderSubscriptionResponse(
                session_id=session_id,
                processed_sent_time=sent,
                snapshot=snapshot,
                update=update,
                heartbeat=None if snapshot or update else order_entry_pb2.Heartbeat(),
            )

        def prepare(caller: Caller) -> None:
            accounts = server.own_accounts(caller, list(request.accounts), "accounts")
            start["scope"] = feeds.Scope(
                caller.firm_id, symbols=tuple(request.symbols), accounts=accounts
            )

        def body(
            caller: Caller, stream: OpenStream
        ) -> Iterator[order_entry_pb2.CreateOrderSubscriptionResponse]:
            scope = start["scope"]
            db = server.env.store.db
            head = EXECUTIONS.head(db)  # first, so an execution made meanwhile is not missed
            orders = feeds.open_orders(db, scope)
            size = server.env.settings.stream_batch_size
            for offset in range(0, max(len(orders), 1), size):
                server.check(stream)
                yield respond(
                    snapshot=order_entry_pb2.OrderSnapshot(orders=orders[offset : offset + size])
                )
            if request.snapshot_only:
                return
            yield from server.follow(
                stream,
                EXECUTIONS,
                scope,
                Cursor(after=head, redo=head),
                lambda _, events: respond(
                    update=order_entry_pb2.OrderUpdate(executions=events) if events else None
                ),
                greet=False,
            )

        return server.serve(context, "CreateOrderSubscription", "read:orders", body, prepare)
