"""The audit trail in the admin: readable and filterable, never writable."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from backoffice.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    list_display = ("occurred_at", "actor_label", "action", "object_type", "object_id", "client_ip")
    list_filter = ("action", ("occurred_at", admin.DateFieldListFilter), "actor")
    list_select_related = ("actor",)
    date_hierarchy = "occurred_at"
    show_full_result_count = False
    readonly_fields = [field.name for field in AuditEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False
