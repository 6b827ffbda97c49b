"""Reads of the mirror for the pages: the blotter's filtered lists, a participant's trading, an
order with its story, and the feed's health. Each is a fixed number of queries whatever the size
of the tables, served by the indexes in models.py; nothing here counts a big table."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum, Value, Window
from django.db.models.functions import Cast, RowNumber
from django.utils import timezone

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
    return StreamCursor.objects.filter(environment=environment()).annotate(
        has_open_gaps=Exists(gaps)
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


def feed_state() -> FeedState:
    """One query: every stream's cursor and whether it has a gap still open."""
    streams = [_health(c) for c in _cursors()]
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
    """For the exchange-health page: the streams with their events per minute (over the last
    five minutes), and the gaps found and repaired."""
    since = timezone.now() - dt.timedelta(minutes=5)
    minutes = dict(
        FeedMinute.objects.filter(environment=environment(), minute__gte=since)
        .values("stream")
        .annotate(total=Sum("events"))
        .values_list("stream", "total")
    )
    streams = [_health(c, (minutes.get(c.stream) or 0) / 5) for c in _cursors()]
    behind, reason, count = _judge(streams)
    gaps = FeedGap.objects.filter(environment=environment())
    # A handful of rows a year: cheap to count.
    counted = gaps.aggregate(
        found=Count("id"), repaired=Count("id", filter=Q(repaired_at__isnull=False))
    )
    core = [s.last_event_time for s in streams if s.stream == Stream.EXECUTIONS]
    return FeedHealth(
        state=FeedState(streams, behind, reason, core[0] if core else None, count),
        gaps=list(gaps.order_by("-found_at")[:10]),
        gaps_found=counted["found"],
        gaps_repaired=counted["repaired"],
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
    settled) and balances of the participant's accounts: one query for them all, and the feed's
    state."""
    accounts = Account.objects.filter(participant=participant).values("account_id")
    settlement = Instrument.objects.filter(symbol=OuterRef("symbol")).values("settlement_price")
    open_orders = Order.objects.filter(account__in=accounts, state__in=OPEN_ORDER_STATES)
    recent = Execution.objects.filter(account__in=accounts)
    owned, orders, executions, positions, balances = rows_together(
        Account.objects.filter(participant=participant).order_by("account_id"),
        # The newest `shown` of each, by the indexes on (account, time, id).
        Order.objects.filter(
            pk__in=open_orders.order_by("-insert_time", "-id").values("pk")[:shown]
        ).order_by("-insert_time", "-id"),
        Execution.objects.filter(
            pk__in=recent.order_by("-transact_time", "-id").values("pk")[:shown]
        ).order_by("-transact_time", "-id"),
        Position.objects.filter(account__in=accounts)
        .annotate(settled_at_price=Subquery(settlement[:1]))
        .order_by("symbol", "account"),
        BalanceSnapshot.objects.filter(account__in=accounts).order_by("account"),
    )
    return ParticipantTrading(
        accounts=[a.account_id for a in owned],
        open_orders=orders,
        executions=executions,
        positions=[PositionRow(p, p.settled_at_price) for p in positions],
        balances=balances,
        feed=feed_state(),
        shown=shown,
    )


def _column_kind(field: Any) -> str:
    """The union column a field's values go in: fields of one kind share columns."""
    kind = field.get_internal_type()
    if kind in {"AutoField", "BigAutoField", "PositiveSmallIntegerField", "SmallIntegerField",
                "PositiveIntegerField", "IntegerField", "ForeignKey"}:  # fmt: skip
        return "BigIntegerField"
    return "CharField" if kind == "TextField" else kind


def rows_together(*parts: QuerySet[Any]) -> list[list[Any]]:
    """The rows of several querysets, of different models, in one query (UNION ALL), each part
    in its own order: for a page that shows a few rows of many tables.

    Each part's columns (its model's fields, then its annotations) go in typed columns shared
    with the other parts' fields of the same type, NULL where a part has fewer; the first part's
    types convert the values, so every part's decimals must have the same places."""
    shapes = []
    slots: dict[str, Any] = {}  # kind -> the output field of its columns
    widths: dict[str, int] = {}
    for queryset in parts:
        fields = [(f.attname, f) for f in queryset.model._meta.concrete_fields]
        fields += [(name, a.output_field) for name, a in queryset.query.annotations.items()]
        counts: dict[str, int] = {}
        shape = []
        for name, field in fields:
            kind = _column_kind(field)
            slots.setdefault(kind, field)
            shape.append((name, f"{kind}_{counts.get(kind, 0)}"))
            counts[kind] = counts.get(kind, 0) + 1
        for kind, count in counts.items():
            widths[kind] = max(widths.get(kind, 0), count)
        shapes.append(shape)
    columns = [f"{kind}_{i}" for kind in sorted(widths) for i in range(widths[kind])]
    branches = []
    for number, (queryset, shape) in enumerate(zip(parts, shapes, strict=True)):
        sources = {column: name for name, column in shape}
        ordering: list[Any] = list(queryset.query.order_by) or ["pk"]
        ordinal = Window(RowNumber(), order_by=ordering)
        selected: dict[str, Any] = {"part": Value(number), "ordinal": ordinal}
        for column in columns:
            kind = column.rsplit("_", 1)[0]
            name = sources.get(column)
            selected[column] = F(name) if name else Cast(Value(None), output_field=slots[kind])
        branches.append(queryset.order_by().values(**selected))
    found: list[list[Any]] = [[] for _ in parts]
    for row in branches[0].union(*branches[1:], all=True).order_by("part", "ordinal"):
        number = row["part"]
        values = {name: row[column] for name, column in shapes[number]}
        model = parts[number].model
        annotations = parts[number].query.annotations
        instance = model(**{k: v for k, v in values.items() if k not in annotations})
        for name in annotations:
            setattr(instance, name, values[name])
        found[number].append(instance)
    return found


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
