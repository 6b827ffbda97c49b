"""Polymarket's OpenAPI schemas (the JSON files beside this module), loaded for contract tests."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

FOLDER = Path(__file__).resolve().parent


def _closed(node: Any) -> Any:
    """Close every object schema, so a misspelt field fails instead of passing silently."""
    if isinstance(node, dict):
        node = {key: _closed(value) for key, value in node.items()}
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
    elif isinstance(node, list):
        node = [_closed(value) for value in node]
    return node


@cache
def document(name: str) -> dict[str, Any]:
    """One schema file ("trading" for trading-schema.json), every object schema closed."""
    closed: dict[str, Any] = _closed(json.loads((FOLDER / f"{name}-schema.json").read_text()))
    return closed


def names() -> list[str]:
    return sorted(path.name.removesuffix("-schema.json") for path in FOLDER.glob("*-schema.json"))
