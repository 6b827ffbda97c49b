"""Every exchange call attempt in the admin: readable and filterable, never writable."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet

from backoffice.admin_tools import ReadOnlyLargeTableAdmin
from backoffice.gateway.config import ENVIRONMENT_NAMES
from backoffice.gateway.endpoints import ENDPOINTS
from backoffice.gateway.models import GatewayCall


class _FixedChoicesFilter(admin.SimpleListFilter):
    """A filter whose choices are known in advance, so the changelist never scans the table for
    the distinct values of the column (Django's default for a plain field filter)."""

    field = ""

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        raise NotImplementedError

    def queryset(self, request: Any, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(**{self.field: value}) if value else queryset


class OperationFilter(_FixedChoicesFilter):
    title = "operation"
    parameter_name = field = "operation"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        names = sorted({"token", *(endpoint.operation for endpoint in ENDPOINTS)})
        return [(name, name) for name in names]


class EnvironmentFilter(_FixedChoicesFilter):
    title = "environment"
    parameter_name = field = "environment"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        return [(name, name) for name in ENVIRONMENT_NAMES]


class ResultFilter(admin.SimpleListFilter):
    title = "result"
    parameter_name = "result"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        return [("ok", "Succeeded"), ("failed", "Failed")]

    def queryset(self, request: Any, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "ok":
            return queryset.filter(outcome=GatewayCall.OK)
        if self.value() == "failed":
            return queryset.exclude(outcome=GatewayCall.OK)
        return queryset


@admin.register(GatewayCall)
class GatewayCallAdmin(ReadOnlyLargeTableAdmin[GatewayCall]):
    list_display = (
        "started_at",
        "environment",
        "operation",
        "attempt",
        "http_status",
        "outcome",
        "latency_ms",
        "actor",
        "origin",
        "participant_id",
    )
    list_filter = (
        ResultFilter,
        OperationFilter,
        EnvironmentFilter,
        ("started_at", admin.DateFieldListFilter),
    )
    list_select_related = ("actor",)
    # Exact matches only (indexed): a participant id or a request id pasted from a log line.
    search_fields = ("=participant_id", "=request_id", "=idempotency_key")
    search_help_text = "Exact participant id, request id or idempotency key."
    readonly_fields = [field.name for field in GatewayCall._meta.fields]
