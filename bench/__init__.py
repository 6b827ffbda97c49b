"""Benchmarks; each writes its results into bench/README.md."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any


def write_results(readme: Path, name: str, table: str) -> None:
    """Put `table` between the `<!-- name-results -->` markers of `readme` (appended if absent)."""
    start, end = f"<!-- {name}-results -->", f"<!-- /{name}-results -->"
    text = readme.read_text()
    block = f"{start}\n{table}\n{end}"
    if start in text:
        text = re.sub(
            re.escape(start) + r".*?" + re.escape(end), lambda _m: block, text, flags=re.S
        )
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    readme.write_text(text)


def settle(cursor: Any) -> None:
    """After a bulk fill: vacuum and analyse, as autovacuum would have by the time such tables
    are read. This machine's PostgreSQL runs without autovacuum, and without the visibility map a
    vacuum writes, every index-only scan (the capped counts, the open-state counts) reads the
    heap as well, and rows a fill updated stay behind as dead ones."""
    cursor.execute("VACUUM ANALYZE")
