from __future__ import annotations

from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from backoffice.identity.roles import roles_of
from backoffice.identity.services import user_refuse


class LocalSignInForm(AuthenticationForm):
    """Password sign-in for development and the demo; refuses accounts that hold no role."""

    def confirm_login_allowed(self, user: User) -> None:
        super().confirm_login_allowed(user)
        if not roles_of(user):
            user_refuse(user=user, reason="no_mapped_group", actor=None)
            raise ValidationError(
                "Your account holds no back-office role. Ask an administrator to grant one.",
                code="no_role",
            )
