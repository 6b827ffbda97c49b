"""Only the gateway talks HTTP to the outside: no `requests` import anywhere else in the
back-office (tests and benchmarks aside; sandbox/ is a separate program, not the back-office)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
ALLOWED = ("backoffice/gateway/", "tests/", "bench/", "sandbox/")
SKIPPED_DIRS = {".venv", ".git", "node_modules", "staticfiles", "__pycache__", ".mypy_cache"}
IMPORT = re.compile(r"^\s*(import\s+requests\b|from\s+requests(\.|\s+import\b))", re.MULTILINE)


def python_files():
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if SKIPPED_DIRS.intersection(relative.parts):
            continue
        yield relative.as_posix(), path


def test_requests_is_imported_only_by_the_gateway():
    offenders = [
        name
        for name, path in python_files()
        if not name.startswith(ALLOWED) and IMPORT.search(path.read_text(encoding="utf-8"))
    ]

    assert offenders == []


def test_the_check_would_notice_an_import():
    assert IMPORT.search("import requests\n")
    assert IMPORT.search("from requests.adapters import HTTPAdapter\n")
    assert IMPORT.search("    from requests import Session\n")
    assert not IMPORT.search("import requests_toolbelt\n")
    assert any(name == "backoffice/gateway/transport.py" for name, _ in python_files())
