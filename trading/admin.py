"""The trading mirror in the admin: read-only (the streams write it), tuned for tables of tens
of millions of rows: estimated counts, exact-match searches on indexed ids, filters with fixed
choices, no date hierarchy. Whoever may read trading (`trading.view_order`) may list them all."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from backoffice.admin_tools import ReadOnlyLargeTableAdmin
from backoffice.identity.permissions import has_permission
from trading.forms import EXECUTION_TYPES, ORDER_STATES
from trading.models import (
    BalanceSnapshot,
    Execution,
    FeedGap,
    Instrument,
    Order,
    OrderCancel,
    OrderCancelChange,
    Position,
    StreamCursor,
    Trade,
    TradingDay,
)


def fixed_filter(
    field: str, title: str, choices: list[tuple[str, str]]
) -> type[admin.SimpleListFilter]:
    """A filter with its choices known in advance: Django's default for a column without
    choices reads the distinct values of the whole table."""

    class Filter(admin.SimpleListFilter):
        parameter_name = field

        def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
            return choices

        def queryset(self, request: Any, queryset: QuerySet[Any]) -> QuerySet[Any]:
            value = self.value()
            return queryset.filter(**{field: value}) if value else queryset

    Filter.title = title
    return Filter


ORDER_STATE_FILTER = fixed_filter("state", "state", [c for c in ORDER_STATES if c[0] != "OPEN"])
EXECUTION_TYPE_FILTER = fixed_filter("exec_type", "type", EXECUTION_TYPES)
TRADE_STATE_FILTER = fixed_filter(
    "state", "state", [("CLEARED", "Cleared"), ("BUSTED", "Busted"), ("NEW", "New")]
)


class TradingAdmin(ReadOnlyLargeTableAdmin[Any]):
    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return has_permission(request.user, "trading.view_order")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return has_permission(request.user, "trading.view_order")

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        return [f.name for f in self.model._meta.fields]


@admin.register(Order)
class OrderAdmin(TradingAdmin):
    list_display = ("exchange_id", "insert_time", "account", "symbol", "side", "state", "price",
                    "order_qty", "cum_qty")  # fmt: skip
    list_filter = ("side", ORDER_STATE_FILTER)
    search_fields = ("=exchange_id", "=clord_id", "=account")
    search_help_text = "Exact order id, client order id or account."
    ordering = ("-insert_time", "-id")


@admin.register(Execution)
class ExecutionAdmin(TradingAdmin):
    list_display = ("exchange_id", "transact_time", "order_exchange_id", "account", "symbol",
                    "side", "exec_type", "last_shares", "last_px", "busted")  # fmt: skip
    list_filter = (EXECUTION_TYPE_FILTER, "side", "busted")
    search_fields = ("=exchange_id", "=order_exchange_id", "=trade_id", "=account")
    search_help_text = "Exact execution, order or trade id, or account."
    ordering = ("-transact_time", "-id")


@admin.register(Trade)
class TradeAdmin(TradingAdmin):
    list_display = ("exchange_id", "transact_time", "symbol", "state", "price", "qty")
    list_filter = (TRADE_STATE_FILTER,)
    search_fields = ("=exchange_id", "=aggressor_execution", "=passive_execution")
    ordering = ("-transact_time", "-id")


@admin.register(Position)
class PositionAdmin(TradingAdmin):
    list_display = ("account", "symbol", "net_position", "cost", "realized", "change_time")
    search_fields = ("=account", "=symbol")
    ordering = ("account", "symbol")


@admin.register(Instrument)
class InstrumentAdmin(TradingAdmin):
    list_display = ("symbol", "state", "price_scale", "qty_scale", "tick_size", "settlement_price")
    list_filter = ("state",)
    search_fields = ("=symbol",)
    ordering = ("symbol",)


@admin.register(BalanceSnapshot)
class BalanceSnapshotAdmin(TradingAdmin):
    list_display = ("account", "cash", "buying_power", "open_orders", "as_of", "read_at")
    search_fields = ("=account",)


@admin.register(TradingDay)
class TradingDayAdmin(TradingAdmin):
    list_display = ("trade_date", "executions", "fills", "filled_contracts", "filled_notional",
                    "busted_fills")  # fmt: skip
    ordering = ("-trade_date",)


@admin.register(StreamCursor)
class StreamCursorAdmin(TradingAdmin):
    list_display = ("stream", "environment", "connected", "last_event_time", "last_message_at",
                    "events_applied", "reconnects")  # fmt: skip
    exclude = ("resume_token",)

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        return [f.name for f in self.model._meta.fields if f.name != "resume_token"]


@admin.register(FeedGap)
class FeedGapAdmin(TradingAdmin):
    list_display = ("stream", "reason", "window_start", "window_end", "repaired_at",
                    "rows_repaired", "method")  # fmt: skip
    list_filter = ("stream", "reason")
    ordering = ("-found_at",)


@admin.register(OrderCancel)
class OrderCancelAdmin(TradingAdmin):
    list_display = ("order", "status", "requested_by", "created_at", "finished_at")
    list_filter = ("status",)
    list_select_related = ("order", "requested_by")
    search_fields = ("=order__exchange_id",)


@admin.register(OrderCancelChange)
class OrderCancelChangeAdmin(TradingAdmin):
    list_display = ("cancel", "from_status", "to_status", "source", "occurred_at")
    list_select_related = ("cancel", "cancel__order")
