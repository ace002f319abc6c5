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
        raise ItemError([f'{source}: an item must be a JSON object like {{"field": 1}}'])
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
    return _parse_items(raw, str(p), p.suffix.lower())


def items_from_bytes(raw: bytes, name: str) -> tuple[list[dict[str, Any]], str]:
    """Items from an uploaded file's content; ``name`` (its file name) picks the format.

    The digest is the same :func:`read_items` gives for that file, so it can key a batch.

    Raises:
        ItemError: an unknown extension, an empty file, or content that is not items (each
            problem names the line, row or element).
    """
    suffix = Path(name).suffix.lower()
    if suffix not in (".jsonl", ".ndjson", ".json", ".csv"):
        raise ItemError([f"{name}: items files must end in .jsonl, .json or .csv"])
    if not raw.decode("utf-8-sig", errors="replace").strip():
        raise ItemError([f"{name}: the file is empty; put one item per line"])
    items, digest = _parse_items(raw, name, suffix)
    if not items:
        raise ItemError([f"{name}: the file holds no items"])
    return items, digest


def items_from_text(text: str, name: str) -> tuple[list[dict[str, Any]], str]:
    """Items from text (UTF-8 encoded for the digest); see :func:`items_from_bytes`."""
    return items_from_bytes(text.encode("utf-8"), name)


def _parse_items(raw: bytes, name: str, suffix: str) -> tuple[list[dict[str, Any]], str]:
    digest = hashlib.sha256(raw).hexdigest()[:16]
    text = raw.decode("utf-8-sig", errors="replace")
    if suffix == ".csv":
        try:
            rows = list(csv.DictReader(text.splitlines()))
        except csv.Error as exc:
            raise ItemError([f"{name}: not a valid CSV file ({exc})"]) from None
        items = [{k: (v if v != "" else None) for k, v in row.items() if k} for row in rows]
        return items, digest
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ItemError([f"{name}: not valid JSON ({exc.msg} at line {exc.lineno})"]) from None
        if not isinstance(data, list):
            raise ItemError([f"{name}: a .json items file must hold a list of objects"])
        bad = [i for i, x in enumerate(data, start=1) if not isinstance(x, dict)]
        if bad:
            more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
            raise ItemError(
                [
                    f"{name}: a .json items file must hold a list of objects; element(s) "
                    f"{', '.join(map(str, bad[:5]))}{more} are not objects"
                ]
            )
        return data, digest
    if suffix not in (".jsonl", ".ndjson"):
        raise ItemError([f"{name}: items files must end in .jsonl, .json or .csv"])
    items, problems = [], []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(parse_item(line, source=f"{name}:{lineno}"))
        except ItemError as exc:
            problems += exc.problems
    if problems:
        raise ItemError(problems)
    return items, digest
