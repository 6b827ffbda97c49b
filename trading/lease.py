"""One consumer applies at a time: a lease row per environment, taken by conditional update.

The holder renews it every LEASE_SECONDS / 3; a standby polls once a second and takes it as soon
as it has lapsed, so after a crash another instance is applying within LEASE_SECONDS. A consumer
that has stalled past its lease (a long pause, a network partition from the database) must not
apply a batch a new holder has already applied: every batch transaction begins with `fence()`,
which holds the lease row (FOR SHARE on PostgreSQL) until it commits, so a takeover waits for it
or it fails with LeaseLost.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from trading.bulk import db_time
from trading.errors import LeaseLost
from trading.models import StreamLease


def lease_seconds() -> float:
    return float(settings.TRADING_STREAM_LEASE_SECONDS)


def lease_acquire(*, environment: str, holder: str) -> bool:
    """Take the lease if it is free, lapsed or already ours."""
    now = timezone.now()
    until = now + dt.timedelta(seconds=lease_seconds())
    try:
        with transaction.atomic():
            _, created = StreamLease.objects.get_or_create(
                environment=environment,
                defaults={"holder": holder, "acquired_at": now, "expires_at": until},
            )
    except IntegrityError:  # another instance created it at the same moment
        created = False
    if created:
        return True
    ours = StreamLease.objects.filter(environment=environment, holder=holder).update(
        expires_at=until
    )
    if ours:
        return True
    taken = StreamLease.objects.filter(Q(expires_at__lt=now), environment=environment).update(
        holder=holder, acquired_at=now, expires_at=until
    )
    return taken == 1


def lease_renew(*, environment: str, holder: str) -> bool:
    now = timezone.now()
    return (
        StreamLease.objects.filter(
            environment=environment, holder=holder, expires_at__gte=now
        ).update(expires_at=now + dt.timedelta(seconds=lease_seconds()))
        == 1
    )


def lease_release(*, environment: str, holder: str) -> None:
    """Let a standby take over at once (a clean stop)."""
    StreamLease.objects.filter(environment=environment, holder=holder).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )


def fence(*, environment: str, holder: str) -> None:
    """Inside a batch's transaction: raise LeaseLost unless this consumer holds the lease."""
    lock = " FOR SHARE" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM trading_streamlease WHERE environment = %s AND holder = %s "  # noqa: S608
            f"AND expires_at >= %s{lock}",
            [environment, holder, db_time(timezone.now())],
        )
        if cursor.fetchone() is None:
            raise LeaseLost(f"the {environment} stream lease is no longer held by {holder}")
