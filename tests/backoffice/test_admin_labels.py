"""The admin's labels come from the models' verbose names: written as people write them, with
acronyms in capitals ("SSN", "IP address", "account ID") and plurals that are words ("webhook
deliveries", not "deliverys")."""

from __future__ import annotations

import re

from django.apps import apps

OURS = ("audit", "gateway", "reconciliation", "participants", "funding", "trading")
# Acronyms Django would write in lower case when it makes a label from a field's name.
ACRONYMS = re.compile(r"\b(id|ip|ssn|url|kyc|dco|csv|pii|docv|sla|utc|usd)\b")


def test_every_model_and_field_label_writes_acronyms_in_capitals():
    wrong = [
        f"{model._meta.label}.{field.name}: {getattr(field, 'verbose_name', '')}"
        for model in apps.get_models()
        if model._meta.app_label in OURS
        for field in model._meta.get_fields()
        if ACRONYMS.search(str(getattr(field, "verbose_name", "")))
    ] + [
        f"{model._meta.label}: {name}"
        for model in apps.get_models()
        if model._meta.app_label in OURS
        for name in (model._meta.verbose_name, model._meta.verbose_name_plural)
        if ACRONYMS.search(str(name))
    ]

    assert wrong == []


def test_every_plural_is_a_word():
    naive = [
        f"{model._meta.label}: {model._meta.verbose_name_plural}"
        for model in apps.get_models()
        if model._meta.app_label in OURS
        if re.search(r"[^aeiou]ys$|top ups$", str(model._meta.verbose_name_plural))
    ]

    assert naive == []
