"""The run's tests run `reconcile` over the scripted check (tests/backoffice/reconciliation/fakes.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from tests.backoffice.reconciliation.fakes import SCRIPT_ENV, write_script

SCRIPTED = "tests.backoffice.reconciliation.fakes.ScriptedCheck"


@pytest.fixture
def script(tmp_path: Path, monkeypatch, settings) -> Callable[..., None]:
    """`script(accounts=[...], findings={...})` sets what the scripted check finds."""
    settings.BACKOFFICE_RECONCILIATION_CHECKS = [SCRIPTED]
    settings.RECONCILIATION_PAGE_SIZE = 2
    monkeypatch.setenv(SCRIPT_ENV, str(tmp_path / "script.json"))

    def write(**values: Any) -> None:
        write_script(tmp_path / "script.json", **values)

    return write


@pytest.fixture
def reconcile(capsys) -> Callable[..., tuple[int, dict[str, Any], str]]:
    """Runs the command: (exit status, the JSON summary, what it wrote to stderr)."""

    def run(*args: str) -> tuple[int, dict[str, Any], str]:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            call_command("reconcile", *args)
        out, err = capsys.readouterr()
        lines = out.strip().splitlines()
        return int(exited.value.code or 0), json.loads(lines[-1]) if lines else {}, err

    return run
