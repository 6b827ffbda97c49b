"""`manage.py reconcile` in a process of its own, on the test database, for the tests that kill
one or run two at once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[3]


def database_url() -> str:
    """The test database, as DATABASE_URL names it."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    return f"postgres://{db['USER']}@{host}:{port}/{db['NAME']}"


def start(
    args: Sequence[str], *, settings_module: str, env: dict[str, str]
) -> subprocess.Popen[str]:
    environment = {
        **os.environ,
        **env,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": settings_module,
        "ENV_FILE": "tests/test.env",
    }
    return subprocess.Popen(  # noqa: S603  (our own interpreter and manage.py)
        [sys.executable, "manage.py", "reconcile", *args],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until(condition: Callable[[], bool], *, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not hold in time")
        time.sleep(0.05)
