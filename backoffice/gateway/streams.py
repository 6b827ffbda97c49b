"""The gRPC streams (API.md 6): Drop Copy executions, trade capture reports, position changes,
instrument states and the order subscription, as typed batches in Decimal dollars and contracts.

    client = stream_client()
    for batch in client.executions(resume_token=cursor.token):
        apply(batch.items)  # then persist batch.resume_token with them, in one transaction

The seam is the gRPC channel: one per process (`process_channel()`), built from settings the
first time a stream opens: `POLYMARKET_GRPC_TARGET` (default: the environment's documented host,
or the sandbox's second port), TLS verified against `POLYMARKET_CA_BUNDLE` or the system's
authorities (the sandbox alone is plaintext), and HTTP/2 keepalive pings every 30 s so an idle
stream behind a load balancer is neither cut nor mistaken for a live one. Tests pass a channel of
their own, to the sandbox over loopback.

Every stream is authenticated when it opens, by `authorization: Bearer` metadata with the
gateway's shared token; an UNAUTHENTICATED answer gets one fresh token and a second try. A
stream's failure raises the gateway's typed errors (errors.py), so the consumer switches on them:
`InvalidArgument` for a refused resume token, `Unavailable` to reconnect with backoff,
`RateLimited` past the 20-stream cap, `PermissionDenied` for a missing scope.

Conversions use each order's own scales (copied from its instrument when it was created) and, for
position changes, the instrument's scales from `scales` (the caller's lookup).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Generic, TypeVar

import grpc
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from google.protobuf import json_format
from google.protobuf.timestamp_pb2 import Timestamp

from backoffice.actors import Actor
from backoffice.gateway import results as r
from backoffice.gateway.client import Gateway, assert_outside_transaction, process_gateway
from backoffice.gateway.errors import (
    DeadlineExceeded,
    FailedPrecondition,
    GatewayError,
    GatewayNotConfigured,
    InternalError,
    InvalidArgument,
    PermissionDenied,
    RateLimited,
    TlsFailed,
    Unauthenticated,
    Unavailable,
)
from backoffice.gateway.recording import CallAttempt
from backoffice.gateway.scales import ScaleLookup, Scales
from polymarket.v1 import (
    dropcopy_pb2,
    dropcopy_pb2_grpc,
    order_entry_pb2,
    order_entry_pb2_grpc,
    order_pb2,
    report_pb2,
)

T = TypeVar("T")

# API.md 6: the documented hosts; the sandbox serves its streams on a second port, plaintext.
GRPC_TARGETS = {
    "preprod": "grpc-api.preprod.polymarketexchange.com:443",
    "prod": "grpc-api.prod.polymarketexchange.com:443",
    "sandbox": "127.0.0.1:8101",
}
# Pings keep an idle stream's connection open through load balancers (the exchange's ALB idles
# out at 3600 s) and notice a dead peer within a minute; pings only while a call is open, since
# an idle channel has nothing to keep.
KEEPALIVE_OPTIONS = (
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 20_000),
    ("grpc.keepalive_permit_without_calls", 0),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
)


@dataclass(frozen=True)
class StreamSettings:
    target: str
    tls: bool
    ca_bundle: str  # "" for the system's authorities


def load_stream_settings() -> StreamSettings:
    environment = str(settings.POLYMARKET_ENVIRONMENT)
    target = str(settings.POLYMARKET_GRPC_TARGET) or GRPC_TARGETS.get(environment, "")
    if not target:
        raise GatewayNotConfigured(
            "POLYMARKET_GRPC_TARGET must name the exchange's gRPC host:port "
            f"(no default for environment {environment!r})."
        )
    bundle = str(settings.POLYMARKET_CA_BUNDLE)
    if bundle and not Path(bundle).is_file():
        raise GatewayNotConfigured(f"POLYMARKET_CA_BUNDLE names no readable file: {bundle}")
    return StreamSettings(target=target, tls=environment != "sandbox", ca_bundle=bundle)


def build_channel(config: StreamSettings) -> grpc.Channel:
    if not config.tls:
        return grpc.insecure_channel(config.target, options=KEEPALIVE_OPTIONS)
    roots = Path(config.ca_bundle).read_bytes() if config.ca_bundle else None
    credentials = grpc.ssl_channel_credentials(root_certificates=roots)
    return grpc.secure_channel(config.target, credentials, options=KEEPALIVE_OPTIONS)


_channel_lock = threading.Lock()
_channel: grpc.Channel | None = None


def process_channel() -> grpc.Channel:
    """The process's one channel (its connection is shared by every stream it carries)."""
    global _channel
    with _channel_lock:
        if _channel is None:
            _channel = build_channel(load_stream_settings())
        return _channel


def reset_channel() -> None:
    global _channel
    with _channel_lock:
        if _channel is not None:
            _channel.close()
        _channel = None


# --- typed results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Batch(Generic[T]):
    """One message of a resumable stream: its items, and the token to resume after them (an
    empty batch is a heartbeat and still carries a fresh token)."""

    resume_token: bytes
    items: list[T]


@dataclass(frozen=True)
class PositionChange:
    position: r.Position
    change_time: dt.datetime | None


@dataclass(frozen=True)
class OrderEvent:
    """One message of the order subscription: a page of the open-orders snapshot, executions,
    a cancel reject, or a heartbeat (all empty)."""

    snapshot: list[r.Order]
    executions: list[r.Execution]
    cancel_reject: str  # the reject's text, with its order id, or ""


def _enum_names(enum: Any) -> dict[int, str]:
    return {value.number: value.name for value in enum.DESCRIPTOR.values}


SIDES = _enum_names(order_pb2.Side)
ORDER_TYPES = _enum_names(order_pb2.OrderType)
TIME_IN_FORCE = _enum_names(order_pb2.TimeInForce)
ORDER_STATES = _enum_names(order_pb2.OrderState)
MANUAL = _enum_names(order_pb2.ManualOrderIndicator)
EXECUTION_TYPES = _enum_names(report_pb2.ExecutionType)
REJECT_REASONS = _enum_names(report_pb2.OrdRejectReason)
TRADE_TYPES = _enum_names(report_pb2.TradeType)
TRADE_STATES = _enum_names(report_pb2.TradeState)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def timestamp(ts: Timestamp) -> dt.datetime | None:
    return _moment(ts.seconds, ts.nanos)


# An execution and the order it carries share their times, and a batch's executions often share
# a moment: each moment is built once (the datetime arithmetic costs ten times the lookup).
@lru_cache(maxsize=4096)
def _moment(seconds: int, nanos: int) -> dt.datetime | None:
    if not seconds and not nanos:
        return None
    return EPOCH + dt.timedelta(seconds=seconds, microseconds=nanos // 1000)


def to_timestamp(moment: dt.datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment.astimezone(dt.UTC))
    return stamp


def _date(value: Any) -> dt.date | None:
    return dt.date(value.year, value.month, value.day) if value.year else None


def order_from_proto(o: order_pb2.Order, scales: ScaleLookup) -> r.Order:
    s = (
        Scales.of(o.price_scale, o.fractional_quantity_scale, "order")
        if o.price_scale > 0
        else None
    )
    s = s or scales(o.symbol)
    return r.Order(
        id=o.id,
        clord_id=o.clord_id,
        symbol=o.symbol,
        account=o.account,
        participant=o.participant,
        side=SIDES.get(o.side, ""),
        type=ORDER_TYPES.get(o.type, ""),
        time_in_force=TIME_IN_FORCE.get(o.time_in_force, ""),
        state=ORDER_STATES.get(o.state, "ORDER_STATE_NEW"),
        price=s.price(o.price) if o.price else None,
        stop_price=s.price(o.stop_price) if o.stop_price else None,
        avg_px=s.price(o.avg_px) if o.avg_px else None,
        order_qty=s.quantity(o.order_qty),
        cum_qty=s.quantity(o.cum_qty),
        leaves_qty=s.quantity(o.leaves_qty),
        cash_order_qty=s.price(o.cash_order_qty) if o.cash_order_qty else None,
        commission_total=s.notional(o.commission_notional_total_collected),
        manual_order_indicator=MANUAL.get(o.manual_order_indicator, ""),
        price_scale=s.price_scale,
        qty_scale=s.qty_scale,
        insert_time=timestamp(o.insert_time),
        create_time=timestamp(o.create_time),
        last_transact_time=timestamp(o.last_transact_time),
        good_till_time=timestamp(o.good_till_time),
    )


def execution_from_proto(e: report_pb2.Execution, scales: ScaleLookup) -> r.Execution:
    order = order_from_proto(e.order, scales)
    s = Scales.of(order.price_scale, order.qty_scale, "order")
    kind = EXECUTION_TYPES.get(e.type, "EXECUTION_TYPE_NEW")
    reject = ""
    if kind == "EXECUTION_TYPE_REJECTED":
        reject = REJECT_REASONS.get(e.order_reject_reason, "")
    return r.Execution(
        id=e.id,
        order=order,
        type=kind,
        last_shares=s.quantity(e.last_shares),
        last_px=s.price(e.last_px) if e.last_px else None,
        commission=s.notional(e.commission_notional_collected),
        aggressor=e.aggressor,
        trade_id=e.trade_id,
        text=e.text,
        order_reject_reason=reject,
        transact_time=timestamp(e.transact_time),
        transact_trade_date=_date(e.transact_trade_date),
    )


def trade_from_proto(t: report_pb2.Trade, scales: ScaleLookup) -> r.Trade:
    return r.Trade(
        id=t.id,
        state=TRADE_STATES.get(t.state, "TRADE_STATE_UNDEFINED"),
        trade_type=TRADE_TYPES.get(t.trade_type, ""),
        aggressor=execution_from_proto(t.aggressor, scales) if t.HasField("aggressor") else None,
        passive=execution_from_proto(t.passive, scales) if t.HasField("passive") else None,
        reporting_counterparty=SIDES.get(t.reporting_counterparty, ""),
        text=t.text,
        trade_link_id=t.trade_link_id,
        metadata=dict(t.metadata),
    )


def position_from_proto(change: dropcopy_pb2.PositionChange, scales: ScaleLookup) -> PositionChange:
    p = change.position
    s = scales(p.symbol)
    return PositionChange(
        position=r.Position(
            account=p.account,
            symbol=p.symbol,
            net_position=s.quantity(p.net_position),
            qty_bought=s.quantity(p.qty_bought),
            qty_sold=s.quantity(p.qty_sold),
            bod_position=s.quantity(p.bod_position),
            available_position=None,
            cost=s.notional(p.cost),
            realized=s.notional(p.realized),
            expired=p.expired,
            update_time=timestamp(p.update_time),
        ),
        change_time=timestamp(change.change_time),
    )


def instrument_from_proto(message: Any) -> r.Instrument:
    """Through the REST JSON form, so both paths share one conversion (instruments are few)."""
    return r.parse_instrument(json_format.MessageToDict(message))


# --- errors ------------------------------------------------------------------------------------

_ERRORS: Mapping[grpc.StatusCode, type[GatewayError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.RESOURCE_EXHAUSTED: RateLimited,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.CANCELLED: Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
}


def stream_error(exc: grpc.RpcError, operation: str) -> GatewayError:
    code = exc.code() if isinstance(exc, grpc.Call) else grpc.StatusCode.UNKNOWN
    details = (exc.details() if isinstance(exc, grpc.Call) else "") or ""
    if code is grpc.StatusCode.UNAVAILABLE and "ssl" in details.lower():
        return TlsFailed(details, operation=operation)
    kind = _ERRORS.get(code, InternalError)
    return kind(details or code.name, operation=operation, code=code.name.lower())


# --- the client ----------------------------------------------------------------------------------


class StreamClient:
    def __init__(self, gateway: Gateway, channel: grpc.Channel, *, actor: Actor = None) -> None:
        self.gateway = gateway
        self.actor = actor
        self._dropcopy = dropcopy_pb2_grpc.DropCopyAPIStub(channel)
        self._orders = order_entry_pb2_grpc.OrderEntryAPIStub(channel)
        self._lock = threading.Lock()
        self._calls: set[Any] = set()

    def cancel_all(self) -> None:
        """End every stream this client has open (from another thread: a reader blocked waiting
        for the next message then gets Unavailable)."""
        with self._lock:
            calls = list(self._calls)
        for call in calls:
            call.cancel()

    def _open(self, operation: str, method: Callable[..., Any], request: Any) -> Iterator[Any]:
        """The stream's messages; opened with the shared token, renewed once if refused."""
        assert_outside_transaction()
        gw = self.gateway
        context = gw._context(self.actor)
        renewed = False
        while True:
            token = gw.tokens.token(context=context, recorder=gw.recorder, policy=gw.policy)
            started = dt.datetime.now(dt.UTC)
            tick = time.perf_counter()
            call = method(request, metadata=(("authorization", f"Bearer {token.value}"),))
            with self._lock:
                self._calls.add(call)
            first = True
            try:
                for message in call:
                    if first:
                        self._record(operation, context, started, tick, None)
                        first = False
                    yield message
                return
            except grpc.RpcError as exc:
                error = stream_error(exc, operation)
                if first:
                    self._record(operation, context, started, tick, error)
                if isinstance(error, Unauthenticated) and first and not renewed:
                    renewed = True
                    gw.tokens.renew_after_rejection(
                        token, context=context, recorder=gw.recorder, policy=gw.policy
                    )
                    continue
                raise error from None
            finally:
                call.cancel()
                with self._lock:
                    self._calls.discard(call)

    def _record(
        self,
        operation: str,
        context: Any,
        started: dt.datetime,
        tick: float,
        error: GatewayError | None,
    ) -> None:
        self.gateway.recorder.record(
            CallAttempt(
                started_at=started,
                environment=self.gateway.settings.environment.name,
                operation=operation,
                method="STREAM",
                endpoint=operation,
                attempt=1,
                http_status=None,
                outcome="ok" if error is None else error.__class__.__name__,
                error_code="" if error is None else error.code,
                latency_ms=round((time.perf_counter() - tick) * 1000),
                context=context,
            )
        )

    @staticmethod
    def _resume(request: Any, resume_token: bytes, resume_time: dt.datetime | None) -> Any:
        if resume_token and resume_time is not None:
            raise ValueError("resume by token or by time, not both")
        if resume_token:
            request.resume_token = resume_token
        elif resume_time is not None:
            request.resume_time.CopyFrom(to_timestamp(resume_time))
        return request

    def executions(
        self,
        *,
        scales: ScaleLookup,
        resume_token: bytes = b"",
        resume_time: dt.datetime | None = None,
    ) -> Iterator[Batch[r.Execution]]:
        request = self._resume(
            dropcopy_pb2.CreateDropCopySubscriptionRequest(), resume_token, resume_time
        )
        for m in self._open(
            "stream_executions", self._dropcopy.CreateDropCopySubscription, request
        ):
            yield Batch(m.resume_token, [execution_from_proto(e, scales) for e in m.executions])

    def trades(
        self,
        *,
        scales: ScaleLookup,
        resume_token: bytes = b"",
        resume_time: dt.datetime | None = None,
    ) -> Iterator[Batch[r.Trade]]:
        request = self._resume(
            dropcopy_pb2.CreateTradeCaptureReportSubscriptionRequest(), resume_token, resume_time
        )
        for m in self._open(
            "stream_trades", self._dropcopy.CreateTradeCaptureReportSubscription, request
        ):
            yield Batch(
                m.resume_token, [trade_from_proto(t, scales) for t in m.trade_capture_reports]
            )

    def position_changes(
        self,
        *,
        scales: ScaleLookup,
        resume_token: bytes = b"",
        resume_time: dt.datetime | None = None,
    ) -> Iterator[Batch[PositionChange]]:
        request = self._resume(
            dropcopy_pb2.CreatePositionChangeSubscriptionRequest(), resume_token, resume_time
        )
        for m in self._open(
            "stream_positions", self._dropcopy.CreatePositionChangeSubscription, request
        ):
            yield Batch(
                m.resume_token, [position_from_proto(c, scales) for c in m.position_changes]
            )

    def instrument_states(
        self, *, resume_token: bytes = b"", resume_time: dt.datetime | None = None
    ) -> Iterator[Batch[r.Instrument]]:
        """Without a resume point: every instrument's current state first, then changes."""
        request = self._resume(
            dropcopy_pb2.CreateInstrumentStateChangeSubscriptionRequest(), resume_token, resume_time
        )
        for m in self._open(
            "stream_instruments", self._dropcopy.CreateInstrumentStateChangeSubscription, request
        ):
            yield Batch(m.resume_token, [instrument_from_proto(i) for i in m.instruments])

    def orders(self, *, scales: ScaleLookup, snapshot_only: bool = False) -> Iterator[OrderEvent]:
        """The open orders (in pages), then their executions as they happen; no resume."""
        request = order_entry_pb2.CreateOrderSubscriptionRequest(snapshot_only=snapshot_only)
        for m in self._open("stream_orders", self._orders.CreateOrderSubscription, request):
            kind = m.WhichOneof("event")
            if kind == "snapshot":
                yield OrderEvent([order_from_proto(o, scales) for o in m.snapshot.orders], [], "")
            elif kind == "update":
                reject = m.update.cancel_reject
                text = f"{reject.order_id}: {reject.text}" if reject.order_id else ""
                executions = [execution_from_proto(e, scales) for e in m.update.executions]
                yield OrderEvent([], executions, text)
            else:
                yield OrderEvent([], [], "")


def stream_client(*, channel: grpc.Channel | None = None, actor: Actor = None) -> StreamClient:
    """A stream client on the process's gateway (token, recorder) and channel."""
    return StreamClient(process_gateway(), channel or process_channel(), actor=actor)


@receiver(setting_changed)
def _settings_changed(*, setting: str, **_: Any) -> None:
    if setting.startswith("POLYMARKET_"):
        reset_channel()
