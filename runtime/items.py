"""Reading input items from JSON text, JSON Lines files and CSV files."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any

from runtime.errors import ItemError


def parse_item(text: str, source: str = "--item") -> dict[str, Any]:
    """One item from JSON text.

    Raises:
        ItemError: not JSON, or not a JSON object.
    """
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ItemError([f"{source}: not valid JSON ({exc.msg} at column {exc.colno})"]) from None
    if not isinstance(value, dict):
        raise ItemError([f"{source}: an item must be a JSON object like {{\"field\": 1}}"])
    return value


def read_items(path: str | Path) -> tuple[list[dict[str, Any]], str]:
    """Items from a ``.jsonl``/``.json``/``.csv`` file, and a digest of the file's content.

    Raises:
        ItemError: the file is missing, or a line is not a JSON object (names the line).
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ItemError([f"items file not found: {p}"]) from None
    except OSError as exc:
        raise ItemError([f"cannot read {p}: {exc}"]) from None
    digest = hashlib.sha256(raw).hexdigest()[:16]
    text = raw.decode("utf-8-sig", errors="replace")
    suffix = p.suffix.lower()
    if suffix == ".csv":
        rows = list(csv.DictReader(text.splitlines()))
        items = [{k: (v if v != "" else None) for k, v in row.items() if k} for row in rows]
        return items, digest
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ItemError([f"{p}: not valid JSON ({exc.msg} at line {exc.lineno})"]) from None
        if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
            raise ItemError([f"{p}: a .json items file must hold a list of objects"])
        return data, digest
    if suffix not in (".jsonl", ".ndjson"):
        raise ItemError([f"{p}: items files must end in .jsonl, .json or .csv"])
    items, problems = [], []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(parse_item(line, source=f"{p}:{lineno}"))
        except ItemError as exc:
            problems += exc.problems
    if problems:
        raise ItemError(problems)
    return items, digest
