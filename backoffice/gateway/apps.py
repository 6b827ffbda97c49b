from django.apps import AppConfig


class GatewayConfig(AppConfig):
    name = "backoffice.gateway"
    label = "gateway"
    verbose_name = "Polymarket US gateway"

    def ready(self) -> None:
        from backoffice.gateway import client  # noqa: F401  (connects the settings-change receiver)
