"""Onboarding in the admin: ids and states, never personal data in clear; searched by POST."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet

from backoffice.admin_tools import (
    SEARCH_BY_POST_TEMPLATE,
    OnlyDeletableDeleted,
    ReadOnlyLargeTableAdmin,
)
from participants import search
from participants.models import (
    Account,
    Firm,
    KycNote,
    KycStatusChange,
    KycSubmission,
    Participant,
    WebhookDelivery,
)
from participants.presenters import masked_identity


@admin.register(Firm)
class FirmAdmin(OnlyDeletableDeleted, admin.ModelAdmin[Firm]):
    list_display = ("firm_id", "environment", "client_id", "webhook_url")
    fields = ("environment", "client_id", "firm_id", "display_name", "webhook_url")
    readonly_fields = ("webhook_url",)


SEARCH_HELP = (
    "An id or its beginning, in any case (ours, the exchange's or an account's), or an exact "
    "email, phone, SSN or full name. The term is sent by POST and never appears in the address."
)


@admin.register(Participant)
class ParticipantAdmin(ReadOnlyLargeTableAdmin[Participant]):
    list_display = ("external_id", "participant_id", "status", "firm", "created_at")
    list_filter = ("status",)
    list_select_related = ("firm",)
    # The same search as the top bar's, by POST: the term never reaches a URL or a log.
    search_fields = ("external_id",)
    search_by_token = True
    change_list_template = SEARCH_BY_POST_TEMPLATE
    search_help_text = SEARCH_HELP

    def search_matching(self, queryset: QuerySet[Participant], term: str) -> QuerySet[Participant]:
        return queryset.filter(pk__in=search.participant_ids(term))


@admin.register(KycSubmission)
class KycSubmissionAdmin(ReadOnlyLargeTableAdmin[KycSubmission]):
    list_display = (
        "id",
        "participant",
        "status",
        "masked_name",
        "masked_ssn",
        "assignee",
        "created_at",
    )
    list_filter = ("status", "docv_eligible")
    list_select_related = ("participant", "assignee")
    search_fields = ("participant__external_id",)
    search_by_token = True
    change_list_template = SEARCH_BY_POST_TEMPLATE
    search_help_text = SEARCH_HELP

    def search_matching(
        self, queryset: QuerySet[KycSubmission], term: str
    ) -> QuerySet[KycSubmission]:
        return queryset.filter(participant_id__in=search.participant_ids(term))

    fields = (
        "participant",
        "status",
        "masked_name",
        "masked_ssn",
        "masked_contact",
        "docv_eligible",
        "agreement_version",
        "agreement_signed_at",
        "decision",
        "exchange_status",
        "exchange_sub_status",
        "rejection_reason",
        "last_error",
        "duplicate_of",
        "submitted_by",
        "assignee",
        "created_at",
        "sent_at",
        "decided_at",
    )
    readonly_fields = fields

    @admin.display(description="Name")
    def masked_name(self, obj: KycSubmission) -> str:
        return masked_identity(obj).name

    @admin.display(description="SSN")
    def masked_ssn(self, obj: KycSubmission) -> str:
        return masked_identity(obj).ssn

    @admin.display(description="Email / phone")
    def masked_contact(self, obj: KycSubmission) -> str:
        identity = masked_identity(obj)
        return f"{identity.email} / {identity.phone_number}"


@admin.register(KycStatusChange)
class KycStatusChangeAdmin(ReadOnlyLargeTableAdmin[KycStatusChange]):
    list_display = (
        "submission",
        "from_status",
        "to_status",
        "actor_label",
        "source",
        "occurred_at",
    )
    list_filter = ("to_status", "source")
    list_select_related = ("submission",)


@admin.register(Account)
class AccountAdmin(ReadOnlyLargeTableAdmin[Account]):
    list_display = ("account_id", "participant", "created_at")
    list_select_related = ("participant",)
    search_fields = ("=account_id", "=participant__external_id")


@admin.register(KycNote)
class KycNoteAdmin(ReadOnlyLargeTableAdmin[KycNote]):
    list_display = ("submission", "author", "created_at")
    list_select_related = ("submission", "author")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyLargeTableAdmin[WebhookDelivery]):
    list_display = ("webhook_id", "event_type", "external_id", "outcome", "received_at")
    list_filter = ("outcome",)
    search_fields = ("=webhook_id", "=external_id")
