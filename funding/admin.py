"""Funding in the admin: read-only, for large tables. Every change goes through the services,
which keep four eyes and audit it."""

from __future__ import annotations

from django.contrib import admin

from backoffice.admin_tools import ReadOnlyLargeTableAdmin
from funding.models import FundingRequest, FundingStatusChange, PoolTopUp, PoolTotals


@admin.register(FundingRequest)
class FundingRequestAdmin(ReadOnlyLargeTableAdmin[FundingRequest]):
    list_display = (
        "id",
        "direction",
        "amount",
        "status",
        "participant",
        "external_reference",
        "requested_by",
        "approved_by",
        "created_at",
    )
    # Filters on indexed columns with few values; no date hierarchy (it reads every row's date).
    list_filter = ("status", "direction")
    list_select_related = ("participant", "requested_by", "approved_by")
    # The request's own identifiers, each unique and indexed. (A participant's requests are the
    # funding queue's participant filter: a search across the join would read the whole table.)
    search_fields = ("=external_reference", "=idempotency_key", "=workflow_id", "=dco_transfer_id")
    fields = (
        "participant",
        "account",
        "direction",
        "amount",
        "currency",
        "external_reference",
        "memo",
        "idempotency_key",
        "status",
        "status_changed_at",
        "version",
        "requested_by",
        "created_at",
        "approved_by",
        "approved_at",
        "supervisor_required",
        "second_approved_by",
        "second_approved_at",
        "staff_reason",
        "workflow_id",
        "dco_transfer_id",
        "exchange_status",
        "rejection_reason",
        "exchange_error",
        "last_error",
        "send_attempts",
        "first_sent_at",
        "settled_at",
    )
    readonly_fields = fields


@admin.register(FundingStatusChange)
class FundingStatusChangeAdmin(ReadOnlyLargeTableAdmin[FundingStatusChange]):
    list_display = ("request", "from_status", "to_status", "actor_label", "source", "occurred_at")
    # Newest first by id: the model's own order (by time) would sort the whole table.
    ordering = ("-id",)
    list_filter = ("to_status", "source")
    list_select_related = ("request",)
    search_fields = ("=request__external_reference",)


@admin.register(PoolTopUp)
class PoolTopUpAdmin(ReadOnlyLargeTableAdmin[PoolTopUp]):
    list_display = ("reference", "amount", "currency", "recorded_by", "recorded_at")
    list_select_related = ("recorded_by",)
    search_fields = ("=reference",)


@admin.register(PoolTotals)
class PoolTotalsAdmin(ReadOnlyLargeTableAdmin[PoolTotals]):
    list_display = ("currency", "top_ups", "deposits", "withdrawals", "expected_balance")
