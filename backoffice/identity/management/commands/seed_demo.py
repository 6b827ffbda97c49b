"""Creates the demo sign-ins (one per role) and the demo data of each app. Local mode only."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.module_loading import import_string

from backoffice.context import command_context
from backoffice.identity.roles import SUPERUSER, user_apply_roles

DEMO_USERS = {
    "compliance": {"compliance"},
    "support": {"support"},
    "treasury": {"treasury"},
    # A second treasury person: whoever requests a movement never approves it.
    "checker": {"treasury"},
    "supervisor": {"supervisor"},
    "admin": {SUPERUSER},
}


class Command(BaseCommand):
    help = "Create one demo user per role and the apps' demo data (SSO_MODE=local only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", default="", help="Password for every demo user.")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.SSO_MODE != "local":
            raise CommandError("Demo users exist only in local sign-in mode (SSO_MODE=local).")
        password = options["password"] or settings.DEMO_PASSWORD
        if not password:
            raise CommandError("Give --password or set DEMO_PASSWORD.")
        with command_context("seed_demo"):
            for username, roles in DEMO_USERS.items():
                user, _ = User.objects.get_or_create(username=username)
                user.email = f"{username}@backoffice.invalid"
                user.set_password(password)
                user.save()
                user_apply_roles(user=user, roles=roles, actor=None, source="seed_demo")
            for path in settings.BACKOFFICE_DEMO_SEEDERS:
                import_string(path)(stdout=self.stdout)
        # One write: the web app's log lines (a webhook arriving) share the terminal.
        table = [
            f"  {username:<11} {', '.join(sorted(roles))}" for username, roles in DEMO_USERS.items()
        ]
        heading = self.style.SUCCESS("Demo sign-ins (password: the DEMO_PASSWORD in .env):")
        self.stdout.write("\n".join([heading, *table]))
