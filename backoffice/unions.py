"""Rows of several tables in one query, for pages that show a few rows of many.

A page such as the participant page shows a handful of rows from each of several tables. Each
table read is a round trip and, with Django, a query compiled; reading them as one UNION ALL
keeps the page's query count fixed however many tables it shows.
"""

from __future__ import annotations

from typing import Any

from django.db.models import F, QuerySet, Value, Window
from django.db.models.functions import Cast, RowNumber


def _column_kind(field: Any) -> str:
    """The union column a field's values go in: fields of one kind share columns."""
    kind = field.get_internal_type()
    if kind in {"AutoField", "BigAutoField", "PositiveSmallIntegerField", "SmallIntegerField",
                "PositiveIntegerField", "IntegerField", "ForeignKey"}:  # fmt: skip
        return "BigIntegerField"
    return "CharField" if kind == "TextField" else kind


def _loaded_fields(queryset: QuerySet[Any]) -> list[Any]:
    """The model fields the queryset loads: all of them, or as `only()` or `defer()` says."""
    names, defer = queryset.query.deferred_loading
    fields = queryset.model._meta.concrete_fields
    if not names:
        return list(fields)
    for name in names:  # a misspelt name would otherwise cost a query per row
        queryset.model._meta.get_field(name)
    named = [f.name in names or f.attname in names for f in fields]
    if defer:
        return [f for f, is_named in zip(fields, named, strict=True) if not is_named]
    return [f for f, is_named in zip(fields, named, strict=True) if is_named or f.primary_key]


def rows_together(*parts: QuerySet[Any]) -> list[list[Any]]:
    """The rows of several querysets, of different models, in one query (UNION ALL), each part
    in its own order: for a page that shows a few rows of many tables.

    Each part's columns (the model fields it loads, as `only()` or `defer()` say, then its
    annotations) go in typed columns shared with the other parts' fields of the same type, NULL
    where a part has fewer; the first part's types convert the values, so every part's decimals
    must have the same places. Fields a part does not load are deferred on its instances, as
    Django defers them. An empty part (`none()`) costs nothing and finds no rows."""
    shapes: dict[int, list[tuple[str, str]]] = {}  # part -> (attname or annotation, column)
    slots: dict[str, Any] = {}  # kind -> the output field of its columns
    widths: dict[str, int] = {}
    for number, queryset in enumerate(parts):
        if queryset.query.is_empty():
            continue
        fields = [(f.attname, f) for f in _loaded_fields(queryset)]
        fields += [(name, a.output_field) for name, a in queryset.query.annotations.items()]
        counts: dict[str, int] = {}
        shape = []
        for name, field in fields:
            kind = _column_kind(field)
            slots.setdefault(kind, field)
            shape.append((name, f"{kind}_{counts.get(kind, 0)}"))
            counts[kind] = counts.get(kind, 0) + 1
        for kind, count in counts.items():
            widths[kind] = max(widths.get(kind, 0), count)
        shapes[number] = shape
    found: list[list[Any]] = [[] for _ in parts]
    if not shapes:
        return found
    columns = [f"{kind}_{i}" for kind in sorted(widths) for i in range(widths[kind])]
    branches = []
    for number, shape in shapes.items():
        queryset = parts[number]
        sources = {column: name for name, column in shape}
        ordering: list[Any] = list(queryset.query.order_by) or ["pk"]
        ordinal = Window(RowNumber(), order_by=ordering)
        selected: dict[str, Any] = {"part": Value(number), "ordinal": ordinal}
        for column in columns:
            kind = column.rsplit("_", 1)[0]
            name = sources.get(column)
            selected[column] = F(name) if name else Cast(Value(None), output_field=slots[kind])
        branches.append(queryset.order_by().values(**selected))
    for row in branches[0].union(*branches[1:], all=True).order_by("part", "ordinal"):
        number = row["part"]
        queryset = parts[number]
        annotations = queryset.query.annotations
        values = [(name, row[column]) for name, column in shapes[number]]
        loaded = [(name, value) for name, value in values if name not in annotations]
        instance = queryset.model.from_db(
            queryset.db, [name for name, _ in loaded], [value for _, value in loaded]
        )
        for name, value in values:
            if name in annotations:
                setattr(instance, name, value)
        found[number].append(instance)
    return found
