"""The audit trail in the admin: readable and filterable, never writable."""

from __future__ import annotations

from django.apps import apps
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from backoffice.admin_tools import ReadOnlyLargeTableAdmin
from backoffice.audit.models import AuditEvent


class ActionFamilyFilter(admin.SimpleListFilter):
    """Filter by the app an action belongs to ("participants" matches participants.kyc.submitted).

    The choices come from the installed apps, not from the table: listing the distinct actions
    would read every event on every page view.
    """

    title = "action"
    parameter_name = "family"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[AuditEvent]
    ) -> list[tuple[str, str]]:
        ours = [
            c
            for c in apps.get_app_configs()
            if not c.name.startswith(("django", "template_partials"))
        ]
        return [(config.label, str(config.verbose_name)) for config in ours]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[AuditEvent]
    ) -> QuerySet[AuditEvent]:
        family = self.value()
        return queryset.filter(action__startswith=f"{family}.") if family else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyLargeTableAdmin[AuditEvent]):
    list_display = ("occurred_at", "actor_label", "action", "object_type", "object_id", "client_ip")
    list_filter = (ActionFamilyFilter, ("occurred_at", admin.DateFieldListFilter), "actor")
    # An exact action code, e.g. participants.pii.revealed (served by the action index).
    search_fields = ("=action",)
    search_help_text = "An exact action code, e.g. participants.pii.revealed"
    list_select_related = ("actor",)
    readonly_fields = [field.name for field in AuditEvent._meta.fields]
