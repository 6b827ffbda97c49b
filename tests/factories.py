"""Factories for test data. Users get their roles through the same service sign-in uses."""

from __future__ import annotations

from typing import Any, cast

import factory
from django.contrib.auth.models import User

from backoffice.identity.roles import user_apply_roles


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("correct horse battery staple")

    @factory.post_generation
    def roles(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            user_apply_roles(user=cast(User, self), roles=set(extracted), actor=None, source="test")
