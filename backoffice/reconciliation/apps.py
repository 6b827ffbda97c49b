from django.apps import AppConfig


class ReconciliationConfig(AppConfig):
    name = "backoffice.reconciliation"
    label = "reconciliation"
    verbose_name = "Reconciliation"
