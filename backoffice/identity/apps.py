from django.apps import AppConfig
from django.db.models.signals import post_migrate


class IdentityConfig(AppConfig):
    name = "backoffice.identity"
    label = "identity"
    verbose_name = "Sign-in and roles"

    def ready(self) -> None:
        from backoffice.identity import roles, signals  # noqa: F401  (connects the receivers)

        # After every app's migrations, since each brings permissions a role may name.
        post_migrate.connect(roles.sync_role_groups, dispatch_uid="backoffice.identity.roles")
