"""Set-based writes: a whole batch goes to the database in one go and is inserted, upserted or
updated by one statement, whatever its size (no statement per row).

`staged(name, columns, rows)` hands a batch's rows to the database and says how a statement reads
them back, as a FROM-clause item `x`:

- on PostgreSQL the rows are COPYed (psycopg's C adaptation, no per-value Python) into a
  temporary table of the session, and the statement reads them through `WITH x AS (DELETE ...
  RETURNING *)`, which empties the table as it reads it (a second batch in the same transaction
  starts from nothing; ON COMMIT DELETE ROWS truncates it at the commit, so it never grows);
- on SQLite they go as one JSON parameter read by `json_each`, with each value as SQLite wants it
  (decimals as exact strings; times as Django stores them there).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal
from functools import lru_cache
from operator import itemgetter
from typing import Any, NamedTuple

from django.db import connection

# A column's SQL type on PostgreSQL; SQLite needs none (its affinities convert the text).
Columns = Sequence[tuple[str, str]]


class Staged(NamedTuple):
    """How a statement reads a staged batch: `prefix` opens the statement, `source` is its
    FROM-clause item `x`, and `params` go where `source` stands."""

    prefix: str
    source: str
    params: list[Any]


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def staged(name: str, columns: Columns, rows: Collection[Mapping[str, Any]]) -> Staged:
    """The rows (each with every column of `columns`) ready for one statement to read."""
    names = [column for column, _ in columns]
    if is_postgresql():
        return _copied(name, columns, names, rows)
    select = ", ".join(f"json_extract(value, '$.{n}') AS {n}" for n in names)
    return Staged("", f"(SELECT {select} FROM json_each(%s)) AS x", [_json(rows)])  # noqa: S608


def _copied(
    name: str, columns: Columns, names: list[str], rows: Collection[Mapping[str, Any]]
) -> Staged:
    table = f"pg_temp.stage_{name}"  # never a permanent table of the same name
    spec = ", ".join(f"{n} {kind}" for n, kind in columns)
    row = itemgetter(*names)
    times = [i for i, (_, kind) in enumerate(columns) if kind in ("timestamptz", "date")]
    with connection.cursor() as cursor:
        # Once per session in effect; asked each time because a rolled-back transaction takes a
        # temporary table it created with it.
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {table} ({spec}) ON COMMIT DELETE ROWS"
        )
        with cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
            for values in rows:
                line = list(row(values))
                for i in times:
                    line[i] = _iso(line[i])
                copy.write_row(line)
    return Staged(f"WITH x AS (DELETE FROM {table} RETURNING *) ", "x", [])  # noqa: S608


# COPY's text is text whatever the column: a time handed over as its ISO form is read exactly as
# the datetime itself, and psycopg's dumper of a datetime costs ten times a string's. A batch's
# rows share a few moments (an execution's and its order's), so each is formatted once.
@lru_cache(maxsize=4096)
def _iso(moment: dt.date | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        # Exactly as the ORM writes it (naive UTC text), so the two compare.
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _json(rows: Collection[Mapping[str, Any]]) -> str:
    return json.dumps([{k: _sqlite_value(v) for k, v in row.items()} for row in rows])


def db_time(moment: dt.datetime) -> Any:
    """A time as a raw statement's parameter, as the ORM would write it."""
    return connection.ops.adapt_datetimefield_value(moment)


def execute(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Run one statement; its RETURNING rows, if any."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall()) if cursor.description else []


def where_true() -> str:
    """SQLite parses `INSERT ... SELECT ... ON CONFLICT` only when the SELECT has a WHERE."""
    return "" if is_postgresql() else " WHERE true"
