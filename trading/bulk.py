"""Set-based writes: a whole batch goes to the database as one JSON parameter and is inserted,
upserted or updated by one statement, whatever its size (no statement per row).

`rows_from_json(columns)` is the SQL that turns that parameter back into rows, on PostgreSQL
(`json_to_recordset`) or SQLite (`json_each`); `encode(rows, columns)` writes the parameter, with
each value as the database wants it (decimals as exact strings; times in UTC, as Django stores
them on each).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import connection

# A column's SQL type on PostgreSQL; SQLite needs none (its affinities convert the text).
Columns = Sequence[tuple[str, str]]


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def rows_from_json(columns: Columns) -> str:
    """A FROM-clause item `x` with the given columns, read from one `%s` JSON parameter."""
    if is_postgresql():
        spec = ", ".join(f"{name} {kind}" for name, kind in columns)
        return f"json_to_recordset(%s::json) AS x({spec})"
    select = ", ".join(f"json_extract(value, '$.{name}') AS {name}" for name, _ in columns)
    return f"(SELECT {select} FROM json_each(%s)) AS x"  # noqa: S608 - fixed column names


def _value(value: Any, sqlite: bool) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        # Exactly as the ORM writes it (on SQLite: naive UTC text), so the two compare.
        return (
            connection.ops.adapt_datetimefield_value(value)
            if sqlite
            else value.astimezone(dt.UTC).isoformat()
        )
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def encode(rows: Iterable[Mapping[str, Any]]) -> str:
    sqlite = not is_postgresql()
    return json.dumps([{k: _value(v, sqlite) for k, v in row.items()} for row in rows])


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
