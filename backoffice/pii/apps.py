from django.apps import AppConfig


class PiiConfig(AppConfig):
    name = "backoffice.pii"
    label = "pii"
    verbose_name = "Personal data protection"
