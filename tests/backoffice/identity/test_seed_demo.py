"""`manage.py seed_demo`'s table of sign-ins, which `make run` prints while the web app logs to the
same terminal: written at once, so that no log line lands inside it."""

from __future__ import annotations

import io

from django.core.management import call_command


class Writes(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def write(self, text: str) -> int:
        self.calls.append(text)
        return super().write(text)


def test_the_table_of_demo_sign_ins_is_one_write(settings, db):
    settings.SSO_MODE = "local"
    settings.BACKOFFICE_DEMO_SEEDERS = []
    out = Writes()

    call_command("seed_demo", "--password", "demo-password", stdout=out)

    (table,) = [text for text in out.calls if "Demo sign-ins" in text]
    for username in ("compliance", "support", "treasury", "checker", "supervisor", "admin"):
        assert f"  {username} " in table
