"""Reading labelled training files (``.csv`` with a header, or ``.jsonl``) for the
builtin classifiers."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import TextIO

from runtime.models.errors import ModelError


def load_training_file(
    path: str | os.PathLike[str], text_column: str = "text", label_column: str = "label"
) -> tuple[list[str], list[str]]:
    """Read labelled examples from a ``.csv`` or ``.jsonl`` file.

    CSV files need a header row and are read as UTF-8 (a byte-order mark is
    fine); JSONL files hold one JSON object per line, blank lines are skipped.
    Labels that are numbers or booleans are turned into strings.

    Args:
        path: the file.
        text_column: the column (or key) holding the text.
        label_column: the column (or key) holding the label.

    Returns:
        ``(texts, labels)`` as lists of strings, in file order.

    Raises:
        ModelError: the file is missing or unreadable, has another extension,
            lacks a column, or has a bad line; the message names the file.
    """
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in (".csv", ".jsonl"):
        raise ModelError(
            f"{file}: training files must be .csv or .jsonl, not {suffix or 'without extension'}"
        )
    if not file.is_file():
        raise ModelError(f"{file}: no such training file")
    try:
        with file.open(encoding="utf-8-sig", newline="") as handle:
            if suffix == ".csv":
                return _read_csv(file, handle, text_column, label_column)
            return _read_jsonl(file, handle, text_column, label_column)
    except UnicodeDecodeError as exc:
        raise ModelError(f"{file}: not UTF-8 text ({exc.reason}); save it as UTF-8") from exc
    except OSError as exc:
        raise ModelError(f"{file}: cannot read it ({exc.strerror or exc})") from exc


def _read_csv(
    file: Path, handle: TextIO, text_column: str, label_column: str
) -> tuple[list[str], list[str]]:
    reader = csv.DictReader(handle)
    try:
        header = reader.fieldnames
    except csv.Error as exc:
        raise ModelError(f"{file}: not a valid CSV file ({exc})") from exc
    if not header:
        raise ModelError(
            f"{file}: the file is empty; it needs a header row with "
            f"{text_column!r} and {label_column!r}"
        )
    for column in (text_column, label_column):
        if column not in header:
            raise ModelError(
                f"{file}: no column {column!r}; the columns are "
                f"{', '.join(repr(h) for h in header)}"
            )
    texts: list[str] = []
    labels: list[str] = []
    try:
        for row in reader:
            line = reader.line_num
            text = row.get(text_column)
            label = row.get(label_column)
            if text is None or label is None:
                raise ModelError(f"{file}, line {line}: the row has fewer cells than the header")
            if not label.strip():
                raise ModelError(f"{file}, line {line}: empty {label_column!r}")
            texts.append(text)
            labels.append(label.strip())
    except csv.Error as exc:
        raise ModelError(f"{file}, line {reader.line_num}: bad CSV ({exc})") from exc
    return texts, labels


def _read_jsonl(
    file: Path, handle: TextIO, text_column: str, label_column: str
) -> tuple[list[str], list[str]]:
    texts: list[str] = []
    labels: list[str] = []
    for line_no, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ModelError(f"{file}, line {line_no}: not valid JSON ({exc.msg})") from exc
        if not isinstance(record, dict):
            raise ModelError(
                f"{file}, line {line_no}: expected a JSON object, got {type(record).__name__}"
            )
        for key in (text_column, label_column):
            if key not in record:
                raise ModelError(f"{file}, line {line_no}: no key {key!r}")
        text = record[text_column]
        label = record[label_column]
        if not isinstance(text, str):
            raise ModelError(
                f"{file}, line {line_no}: {text_column!r} must be a string, "
                f"not {type(text).__name__}"
            )
        if not isinstance(label, str | int | float | bool) or not str(label).strip():
            raise ModelError(f"{file}, line {line_no}: {label_column!r} must be a non-empty string")
        texts.append(text)
        labels.append(str(label).strip())
    return texts, labels
