"""File downloads as the grpc-gateway serves server streams: one JSON message per line, each
carrying the next chunk of one CSV file, sent with chunked transfer encoding as it is read.

The Report API's downloads carry text (`{"result": {"filechunk": "..."}}`); the ledger and
valuation downloads carry proto `bytes`, which proto3 JSON writes in base64 (`{"result": {"data":
"..."}}`). An empty result is an empty body (API.md 5.3.3). The exchange publishes no column list,
so the columns are the message's fields in snake_case, values as the JSON API gives them.

Rows are read lazily, a page at a time, so a download of a million rows holds one page in memory.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from werkzeug.wrappers import Response

CHUNK_CHARS = 64 * 1024
PAGE_ROWS = 1000
TEXT = "filechunk"
BYTES = "data"


def _message(field: str, text: str) -> bytes:
    value = base64.b64encode(text.encode()).decode() if field == BYTES else text
    return json.dumps({"result": {field: value}}).encode() + b"\n"


def csv_response(field: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Response:
    """Stream `rows` as CSV under `header`, in chunks of about CHUNK_CHARS characters."""

    def messages() -> Iterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        started = False
        for row in rows:
            if not started:
                writer.writerow(header)
                started = True
            writer.writerow(row)
            if buffer.tell() >= CHUNK_CHARS:
                yield _message(field, buffer.getvalue())
                buffer.seek(0)
                buffer.truncate()
        if buffer.tell():
            yield _message(field, buffer.getvalue())

    return Response(messages(), mimetype="application/json")


def pages(
    db: sqlite3.Connection,
    table: str,
    select: str,
    params: Sequence[Any],
    row: Callable[[sqlite3.Row], Any],
    *,
    newest_first: bool = False,
) -> Iterator[Any]:
    """Every row of `select` (a SELECT from `table`, aliased as itself, whose WHERE the caller has
    begun) in seq order, read by keyset a page at a time. Rows written after the download began
    are left out, so the file is the table as it stood then."""
    ceiling = db.execute(f"SELECT COALESCE(MAX(seq), 0) FROM {table}").fetchone()[0]  # noqa: S608
    column = f"{table}.seq"
    if newest_first:
        sql = f"{select} AND {column} < ? ORDER BY {column} DESC LIMIT ?"
        last = ceiling + 1
    else:
        sql = f"{select} AND {column} > ? AND {column} <= {ceiling} ORDER BY {column} LIMIT ?"
        last = 0
    while True:
        batch = db.execute(sql, [*params, last, PAGE_ROWS]).fetchall()
        if not batch:
            return
        for item in batch:
            yield row(item)
        last = batch[-1]["seq"]
