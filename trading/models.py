"""The trading mirror: every instrument, order, execution, trade and position of the firm's
participants as the exchange's streams report them (Drop Copy is the system of record), and the
bookkeeping that makes the mirror trustworthy: each stream's resume point, the lease that lets
one consumer apply at a time, the gaps found and how they were repaired.

Sizes are planned for tens of millions of executions: rows carry the exchange's ids (unique, the
deduplication key of at-least-once delivery) and the account string the exchange sends, so a
batch is applied without looking anything up row by row; every index below serves one filter of
the blotter in its keyset order (time, then id), and nothing on a page counts a big table (daily
counters are kept as batches are applied).

Prices are dollars and quantities contracts, exact Decimals converted with the instrument's
scales (API.md 4.5), with six places: a price scale of 1,000 times a quantity scale of 100 is the
finest the exchange uses. Commissions are dollars (negative: a maker rebate).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

OPEN_ORDER_STATES = ("NEW", "PARTIALLY_FILLED", "PENDING_NEW", "PENDING_REPLACE", "PENDING_CANCEL")
OPEN_ORDER = Q(state__in=OPEN_ORDER_STATES)


class Side(models.TextChoices):
    BUY = "BUY", "Buy"
    SELL = "SELL", "Sell"


class Instrument(models.Model):
    """A market from reference data, kept current by the instrument state stream."""

    symbol = models.CharField(max_length=200, unique=True)
    description = models.CharField(max_length=500, blank=True)
    state = models.CharField(max_length=40, help_text="INSTRUMENT_STATE_* without the prefix.")
    price_scale = models.PositiveIntegerField()
    qty_scale = models.PositiveIntegerField(help_text="fractionalQtyScale; 0 or absent read as 1.")
    tick_size = models.DecimalField(max_digits=24, decimal_places=6)
    minimum_trade_qty = models.DecimalField(max_digits=24, decimal_places=6)
    price_limit_low = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    price_limit_high = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    expiration_date = models.DateField(null=True, blank=True)
    event_id = models.CharField(verbose_name="event ID", max_length=200, blank=True)
    question = models.CharField(max_length=500, blank=True)
    settlement_price = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    exchange_updated_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(price_scale__gt=0) & Q(qty_scale__gt=0), name="instrument_scales"
            )
        ]

    def __str__(self) -> str:
        return self.symbol


class Order(models.Model):
    """An order as it last stood: each execution carries the order after its event, and the
    newest of them (by transact time, then filled quantity, then finality) wins."""

    exchange_id = models.CharField(verbose_name="exchange ID", max_length=64, unique=True)
    clord_id = models.CharField(verbose_name="client order ID", max_length=64, blank=True)
    account = models.CharField(max_length=200)
    symbol = models.CharField(max_length=200)
    side = models.CharField(max_length=4, choices=Side.choices)
    order_type = models.CharField(max_length=24)
    time_in_force = models.CharField(max_length=32)
    state = models.CharField(max_length=24)
    price = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    avg_px = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    order_qty = models.DecimalField(max_digits=24, decimal_places=6)
    cum_qty = models.DecimalField(max_digits=24, decimal_places=6)
    leaves_qty = models.DecimalField(max_digits=24, decimal_places=6)
    cash_order_qty = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    commission_total = models.DecimalField(max_digits=24, decimal_places=6)
    insert_time = models.DateTimeField()
    last_transact_time = models.DateTimeField()
    # 0 pending, 1 working, 2 final: breaks ties between snapshots of the same moment.
    state_rank = models.PositiveSmallIntegerField()
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["-insert_time", "-id"], name="order_blotter"),
            models.Index(fields=["account", "-insert_time", "-id"], name="order_account"),
            models.Index(fields=["symbol", "-insert_time", "-id"], name="order_symbol"),
            models.Index(
                fields=["account", "-insert_time", "-id"], condition=OPEN_ORDER, name="order_open"
            ),
            # Open orders in one instrument: few among many, so without it a symbol that has none
            # made the planner read every order newest first (a second at a million orders).
            models.Index(
                fields=["symbol", "-insert_time", "-id"],
                condition=OPEN_ORDER,
                name="order_open_symbol",
            ),
            # A state or type filter without a symbol or account (the blotter's, the admin's): a
            # rare one would otherwise read the whole table newest first to find a page of it.
            models.Index(fields=["state", "-insert_time", "-id"], name="order_state"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(order_qty__gte=0) & Q(cum_qty__gte=0) & Q(leaves_qty__gte=0),
                name="order_quantities",
            )
        ]

    def __str__(self) -> str:
        return self.exchange_id

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_ORDER_STATES


class Execution(models.Model):
    """One event in an order's life, with the order's quantities after it."""

    exchange_id = models.CharField(verbose_name="exchange ID", max_length=64, unique=True)
    order_exchange_id = models.CharField(verbose_name="order's exchange ID", max_length=64)
    account = models.CharField(max_length=200)
    symbol = models.CharField(max_length=200)
    side = models.CharField(max_length=4, choices=Side.choices)
    exec_type = models.CharField(max_length=24, help_text="EXECUTION_TYPE_* without the prefix.")
    order_state = models.CharField(max_length=24)
    last_shares = models.DecimalField(max_digits=24, decimal_places=6)
    last_px = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    cum_qty = models.DecimalField(max_digits=24, decimal_places=6)
    leaves_qty = models.DecimalField(max_digits=24, decimal_places=6)
    commission = models.DecimalField(max_digits=24, decimal_places=6)
    aggressor = models.BooleanField(default=False)
    trade_id = models.CharField(verbose_name="trade ID", max_length=64, blank=True)
    reject_reason = models.CharField(max_length=48, blank=True)
    text = models.CharField(max_length=300, blank=True)
    transact_time = models.DateTimeField()
    trade_date = models.DateField(null=True, blank=True)
    # The trade this fill belongs to was busted: the fill no longer counts.
    busted = models.BooleanField(default=False)
    source = models.CharField(max_length=16, default="stream")

    class Meta:
        indexes = [
            models.Index(fields=["-transact_time", "-id"], name="execution_blotter"),
            models.Index(fields=["account", "-transact_time", "-id"], name="execution_account"),
            models.Index(fields=["symbol", "-transact_time", "-id"], name="execution_symbol"),
            models.Index(fields=["exec_type", "-transact_time", "-id"], name="execution_type"),
            models.Index(fields=["order_exchange_id", "transact_time"], name="execution_order"),
            models.Index(fields=["trade_id"], condition=~Q(trade_id=""), name="execution_trade"),
        ]

    def __str__(self) -> str:
        return self.exchange_id


class Trade(models.Model):
    """A trade between two executions; BUSTED supersedes CLEARED and is final."""

    exchange_id = models.CharField(verbose_name="exchange ID", max_length=64, unique=True)
    symbol = models.CharField(max_length=200)
    state = models.CharField(max_length=32, help_text="TRADE_STATE_* without the prefix.")
    trade_type = models.CharField(max_length=32, blank=True)
    price = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    qty = models.DecimalField(max_digits=24, decimal_places=6)
    aggressor_execution = models.CharField(max_length=64, blank=True)
    passive_execution = models.CharField(max_length=64, blank=True)
    aggressor_account = models.CharField(max_length=200, blank=True)
    passive_account = models.CharField(max_length=200, blank=True)
    transact_time = models.DateTimeField(null=True, blank=True)
    busted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["-transact_time", "-id"], name="trade_time")]

    def __str__(self) -> str:
        return self.exchange_id


class Position(models.Model):
    """An account's position in one instrument, as the position-change stream last reported it."""

    account = models.CharField(max_length=200)
    symbol = models.CharField(max_length=200)
    net_position = models.DecimalField(max_digits=24, decimal_places=6)
    qty_bought = models.DecimalField(max_digits=24, decimal_places=6)
    qty_sold = models.DecimalField(max_digits=24, decimal_places=6)
    bod_position = models.DecimalField(max_digits=24, decimal_places=6)
    cost = models.DecimalField(max_digits=24, decimal_places=6)
    realized = models.DecimalField(max_digits=24, decimal_places=6)
    expired = models.BooleanField(default=False)
    change_time = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "symbol"], name="position_account_symbol")
        ]
        indexes = [models.Index(fields=["symbol", "account"], name="position_symbol")]

    def __str__(self) -> str:
        return f"{self.account} {self.symbol}"


class BalanceSnapshot(models.Model):
    """An account's balance from a point-in-time read (the exchange has no firm-wide balance
    stream): cash, buying power and what open orders hold, with when it was read."""

    account = models.CharField(max_length=200, unique=True)
    currency = models.CharField(max_length=8, default="USD")
    cash = models.DecimalField(max_digits=24, decimal_places=6)
    buying_power = models.DecimalField(max_digits=24, decimal_places=6)
    open_orders = models.DecimalField(max_digits=24, decimal_places=6)
    as_of = models.DateTimeField()
    read_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.account


class TradingDay(models.Model):
    """Counters per trade date, kept by the consumer in each batch's transaction, so pages never
    count the execution table. A bust takes its fills back out."""

    trade_date = models.DateField(unique=True)
    executions = models.BigIntegerField(default=0)
    fills = models.BigIntegerField(default=0)
    filled_contracts = models.DecimalField(max_digits=24, decimal_places=6, default=0)
    filled_notional = models.DecimalField(max_digits=24, decimal_places=6, default=0)
    busted_fills = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return str(self.trade_date)


class Stream(models.TextChoices):
    EXECUTIONS = "executions", "Drop Copy executions"
    TRADES = "trades", "Trade capture reports"
    POSITIONS = "positions", "Position changes"
    INSTRUMENTS = "instruments", "Instrument states"
    ORDERS = "orders", "Open orders"


class StreamCursor(models.Model):
    """Where a stream resumes, written in the same transaction as the batch it follows, and the
    feed's health as the consumer last saw it."""

    environment = models.CharField(max_length=16)
    stream = models.CharField(max_length=16, choices=Stream.choices)
    resume_token = models.BinaryField(default=b"", blank=True)
    last_event_time = models.DateTimeField(null=True, blank=True)
    events_applied = models.BigIntegerField(default=0)
    # The last message of any kind, a heartbeat included: the stream was alive and caught up.
    last_message_at = models.DateTimeField(null=True, blank=True)
    connected = models.BooleanField(default=False)
    connected_since = models.DateTimeField(null=True, blank=True)
    reconnects = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["environment", "stream"], name="cursor_stream")
        ]

    def __str__(self) -> str:
        return f"{self.stream} ({self.environment})"


class FeedMinute(models.Model):
    """Events applied per stream and minute, for the events-per-minute figure."""

    environment = models.CharField(max_length=16)
    stream = models.CharField(max_length=16, choices=Stream.choices)
    minute = models.DateTimeField()
    events = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "stream", "minute"], name="feed_minute_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.stream} {self.minute:%Y-%m-%d %H:%M}: {self.events}"


class StreamLease(models.Model):
    """The right to apply batches, held by one consumer per environment. The holder renews it;
    a standby takes it once it has lapsed; every batch checks it inside its transaction."""

    environment = models.CharField(max_length=16, unique=True)
    holder = models.CharField(max_length=100)
    acquired_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.environment}: {self.holder}"


class FeedGap(models.Model):
    """A window the streams could not deliver (an expired resume token, a cold start) and how it
    was repaired."""

    class Reason(models.TextChoices):
        COLD_START = "cold_start", "Cold start"
        TOKEN_REFUSED = "token_refused", "Resume token refused"

    environment = models.CharField(max_length=16)
    stream = models.CharField(max_length=16, choices=Stream.choices)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    found_at = models.DateTimeField(default=timezone.now)
    repaired_at = models.DateTimeField(null=True, blank=True)
    # How far the repair has got: a repair stopped half-way goes on from here.
    repaired_through = models.DateTimeField(null=True, blank=True)
    method = models.CharField(max_length=40, blank=True)
    rows_repaired = models.BigIntegerField(default=0)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes = [models.Index(fields=["-found_at"], name="feed_gap_found")]

    def __str__(self) -> str:
        return f"{self.stream} {self.window_start:%Y-%m-%d %H:%M}"


class OrderCancel(models.Model):
    """A support cancel of one open order, on behalf of its participant: claim, send, record."""

    class Status(models.TextChoices):
        SENDING = "sending", "Sending"
        REQUESTED = "requested", "Cancel requested"
        REFUSED = "refused", "Refused by the exchange"
        NOT_SENT = "not_sent", "Not sent"
        OUTCOME_UNKNOWN = "outcome_unknown", "Sent, outcome unknown"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="cancels")
    participant = models.ForeignKey(
        "participants.Participant", on_delete=models.PROTECT, related_name="order_cancels"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=500)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SENDING)
    message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    send_deadline = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="order_cancel_reason"),
            # One cancel in flight per order: a double click sends once.
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(status__in=["sending", "outcome_unknown"]),
                name="order_cancel_one_in_flight",
            ),
        ]
        indexes = [
            models.Index(
                fields=["send_deadline"],
                condition=Q(status__in=["sending", "outcome_unknown"]),
                name="order_cancel_unfinished",
            )
        ]
        permissions = [("cancel_order", "Cancel a participant's open order")]

    def __str__(self) -> str:
        return f"cancel {self.order_id}"


class OrderCancelChange(models.Model):
    """One move of a cancel's state (the history the state machine writes)."""

    cancel = models.ForeignKey(OrderCancel, on_delete=models.PROTECT, related_name="history")
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    source = models.CharField(max_length=32)
    detail = models.CharField(max_length=500, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} -> {self.to_status}"
