"""The user admin, auditing every change of roles made through it."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.forms import ModelForm
from django.http import HttpRequest

from backoffice.admin_tools import OnlyDeletableDeleted
from backoffice.identity.roles import audit_role_change, roles_of, user_strip_roles

admin.site.unregister(User)


@admin.register(User)
class BackOfficeUserAdmin(OnlyDeletableDeleted, UserAdmin):
    list_display = ("username", "email", "is_staff", "is_superuser", "is_active", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    show_full_result_count = False

    def save_model(self, request: HttpRequest, obj: User, form: ModelForm, change: bool) -> None:
        # Superuser status is a role too: remember what the user held before this save.
        obj._roles_before = roles_of(User.objects.get(pk=obj.pk)) if change else set()  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        user = form.instance
        if not user.is_active:
            # Deactivated: nothing is left to hold, at once. Django already refuses the sessions
            # of an inactive user; this also takes them off every list of assignable staff.
            user_strip_roles(user=user)
        audit_role_change(
            user=user,
            before=getattr(user, "_roles_before", set()),
            after=roles_of(user),
            actor=request.user,
            source="admin",
        )
