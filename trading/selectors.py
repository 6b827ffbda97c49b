"""Reads of the mirror for the pages: the blotter's filtered lists, a participant's trading, an
order with its story, and the feed's health. Each is a fixed number of queries whatever the size
of the tables, served by the indexes in models.py; nothing here counts a big table."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from backoffice.unions import rows_together
from participants.models import Account, Participant
from trading.models import (
    OPEN_ORDER_STATES,
    BalanceSnapshot,
    Execution,
    FeedGap,
    FeedMinute,
    Instrument,
    Order,
    OrderCancel,
    Position,
    Stream,
    StreamCursor,
    Trade,
)

# The streams the mirror's content depends on (instruments change rarely; the order stream only
# confirms what Drop Copy reports).
CORE_STREAMS = (Stream.EXECUTIONS, Stream.TRADES, Stream.POSITIONS)


def environment() -> str:
    return str(settings.POLYMARKET_ENVIRONMENT)


# --- the feed ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamHealth:
    stream: str
    label: str
    connected: bool
    last_event_time: dt.datetime | None
    last_message_at: dt.datetime | None
    reconnects: int
    open_gaps: bool
    last_error: str
    events_applied: int
    events_per_minute: float | None = None

    @property
    def lag_seconds(self) -> float | None:
        """Now minus the last event's transact time (large when the market is quiet, too)."""
        if self.last_event_time is None:
            return None
        return max(0.0, (timezone.now() - self.last_event_time).total_seconds())

    @property
    def silent_seconds(self) -> float | None:
        if self.last_message_at is None:
            return None
        return (timezone.now() - self.last_message_at).total_seconds()


@dataclass(frozen=True)
class FeedState:
    streams: list[StreamHealth]
    behind: bool
    reason: str
    last_event_time: dt.datetime | None
    streams_behind: int = 0


def _cursors() -> QuerySet[StreamCursor]:
    gaps = FeedGap.objects.filter(
        environment=OuterRef("environment"), stream=OuterRef("stream"), repaired_at__isnull=True
    )
    # The resume token is the consumer's alone: pages never read it.
    return (
        StreamCursor.objects.filter(environment=environment())
        .defer("resume_token")
        .annotate(has_open_gaps=Exists(gaps))
    )


def _health(cursor: Any, per_minute: float | None = None) -> StreamHealth:
    return StreamHealth(
        stream=cursor.stream,
        label=Stream(cursor.stream).label,
        connected=cursor.connected,
        last_event_time=cursor.last_event_time,
        last_message_at=cursor.last_message_at,
        reconnects=cursor.reconnects,
        open_gaps=cursor.has_open_gaps,
        last_error=cursor.last_error,
        events_applied=cursor.events_applied,
        events_per_minute=per_minute,
    )


def _behind(name: str, health: StreamHealth | None) -> str:
    """Why the stream `name` is behind, or "" when it is current."""
    label = Stream(name).label
    if health is None or health.last_message_at is None:
        return f"{label} have never been received"
    if health.open_gaps:
        return f"{label} have a gap that is being repaired"
    silent = health.silent_seconds or 0.0
    if not health.connected or silent > float(settings.TRADING_FEED_STALE_SECONDS):
        return f"{label} last arrived {round(silent)} s ago"
    return ""


def _judge(streams: list[StreamHealth]) -> tuple[bool, str, int]:
    """Whether the mirror is behind, the first reason, and how many core streams are."""
    by_name = {s.stream: s for s in streams}
    reasons = [r for r in (_behind(n, by_name.get(n)) for n in CORE_STREAMS) if r]
    return bool(reasons), reasons[0] if reasons else "", len(reasons)


def feed_state(cursors: list[StreamCursor] | None = None) -> FeedState:
    """Every stream's cursor and whether it has a gap still open: one query, or none when the
    caller read `cursors` (from _cursors()) with its own rows."""
    streams = [_health(c) for c in (_cursors() if cursors is None else cursors)]
    behind, reason, count = _judge(streams)
    core = [s.last_event_time for s in streams if s.stream == Stream.EXECUTIONS]
    return FeedState(streams, behind, reason, core[0] if core else None, count)


@dataclass(frozen=True)
class FeedHealth:
    state: FeedState
    gaps: list[FeedGap]
    gaps_found: int
    gaps_repaired: int


def feed_health() -> FeedHealth:
    """For the exchange-health page, in one query: the streams with their events per minute
    (over the last five minutes), the latest gaps, and how many were found and repaired."""
    since = timezone.now() - dt.timedelta(minutes=5)
    events = (
        FeedMinute.objects.filter(
            environment=OuterRef("environment"), stream=OuterRef("stream"), minute__gte=since
        )
        .order_by()
        .values("stream")
        .annotate(total=Sum("events"))
        .values("total")
    )
    gaps = FeedGap.objects.filter(environment=environment())
    # A handful of rows a year: cheap to count. The counts ride on the latest gaps' rows, so
    # that no gap at all reads as none found.
    counted = gaps.order_by().values("environment")
    cursors, latest = rows_together(
        _cursors().annotate(events_in_window=Subquery(events)),
        FeedGap.objects.filter(pk__in=gaps.order_by("-found_at").values("pk")[:10])
        .annotate(
            found=Subquery(counted.annotate(n=Count("id")).values("n")),
            repaired=Subquery(
                counted.annotate(n=Count("id", filter=Q(repaired_at__isnull=False))).values("n")
            ),
        )
        .order_by("-found_at"),
    )
    streams = [_health(c, (c.events_in_window or 0) / 5) for c in cursors]
    behind, reason, count = _judge(streams)
    core = [s.last_event_time for s in streams if s.stream == Stream.EXECUTIONS]
    return FeedHealth(
        state=FeedState(streams, behind, reason, core[0] if core else None, count),
        gaps=latest,
        gaps_found=latest[0].found if latest else 0,
        gaps_repaired=latest[0].repaired if latest else 0,
    )


# --- names of accounts -------------------------------------------------------------------------


def participants_by_account(accounts: set[str]) -> dict[str, Participant]:
    """The participant of each account string (one query), for the rows shown."""
    if not accounts:
        return {}
    return {
        a.account_id: a.participant
        for a in Account.objects.select_related("participant").filter(account_id__in=accounts)
    }


# --- a participant's trading -------------------------------------------------------------------


@dataclass(frozen=True)
class PositionRow:
    position: Position
    settlement_price: Decimal | None

    @property
    def settlement_value(self) -> Decimal | None:
        """What a position still open at settlement is worth: YES contracts at the settlement
        price, NO (short) contracts at its complement. (Once the exchange resolves it, the payout
        is in the realized P&L and the position is flat.)"""
        price = self.settlement_price
        if price is None:
            return None
        net = self.position.net_position
        return net * price if net >= 0 else -net * (1 - price)


@dataclass(frozen=True)
class ParticipantTrading:
    accounts: list[str]
    open_orders: list[Order]
    executions: list[Execution]
    positions: list[PositionRow]
    balances: list[BalanceSnapshot]
    feed: FeedState
    shown: int = 20


def participant_trading(participant: Participant, *, shown: int = 20) -> ParticipantTrading:
    """Open orders, recent executions, positions (with the settlement price where the market
    settled) and balances of the participant's accounts, and the feed's state: one query for them
    all."""
    accounts = Account.objects.filter(participant=participant).values("account_id")
    settlement = Instrument.objects.filter(symbol=OuterRef("symbol")).values("settlement_price")
    open_orders = Order.objects.filter(account__in=accounts, state__in=OPEN_ORDER_STATES)
    recent = Execution.objects.filter(account__in=accounts)
    # Each part reads only the columns the panel shows: the narrower the union, the less Django
    # has to compile and the database to send.
    owned, orders, executions, positions, balances, cursors = rows_together(
        Account.objects.filter(participant=participant).only("account_id").order_by("account_id"),
        # The newest `shown` of each, by the indexes on (account, time, id).
        Order.objects.filter(
            pk__in=open_orders.order_by("-insert_time", "-id").values("pk")[:shown]
        )
        .only("exchange_id", "insert_time", "symbol", "side", "price", "cum_qty", "order_qty")
        .order_by("-insert_time", "-id"),
        Execution.objects.filter(
            pk__in=recent.order_by("-transact_time", "-id").values("pk")[:shown]
        )
        .only(
            "transact_time",
            "symbol",
            "side",
            "exec_type",
            "busted",
            "last_shares",
            "last_px",
            "commission",
        )
        .order_by("-transact_time", "-id"),
        Position.objects.filter(account__in=accounts)
        .only("symbol", "account", "net_position", "cost", "realized", "change_time")
        .annotate(settled_at_price=Subquery(settlement[:1]))
        .order_by("symbol", "account"),
        BalanceSnapshot.objects.filter(account__in=accounts).order_by("account"),
        _cursors(),
    )
    return ParticipantTrading(
        accounts=[a.account_id for a in owned],
        open_orders=orders,
        executions=executions,
        positions=[PositionRow(p, p.settled_at_price) for p in positions],
        balances=balances,
        feed=feed_state(cursors),
        shown=shown,
    )


# --- one order ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Holder:
    """The participant an order's account belongs to, as the order page names and links it."""

    pk: int
    external_id: str


@dataclass(frozen=True)
class OrderStory:
    order: Order
    participant: Holder | None
    executions: list[Execution]
    trades: list[Trade]
    cancels: list[OrderCancel]


def orders_with_holder() -> QuerySet[Order]:
    """Orders with their participant's id and external id, read with the order itself."""
    account = Account.objects.filter(account_id=OuterRef("account"))
    return Order.objects.annotate(
        holder_pk=Subquery(account.values("participant_id")[:1]),
        holder_external_id=Subquery(account.values("participant__external_id")[:1]),
    )


def order_story(order: Order) -> OrderStory:
    """`order` as orders_with_holder reads it, with its executions, trades and cancels."""
    executions = list(
        Execution.objects.filter(order_exchange_id=order.exchange_id).order_by(
            "transact_time", "id"
        )
    )
    trade_ids = [e.trade_id for e in executions if e.trade_id]
    holder_pk = order.holder_pk  # type: ignore[attr-defined]
    holder = Holder(holder_pk, order.holder_external_id) if holder_pk else None  # type: ignore[attr-defined]
    return OrderStory(
        order=order,
        participant=holder,
        executions=executions,
        trades=list(Trade.objects.filter(exchange_id__in=trade_ids).order_by("transact_time")),
        cancels=list(
            OrderCancel.objects.filter(order=order)
            .select_related("requested_by")
            .order_by("-created_at")
        ),
    )
