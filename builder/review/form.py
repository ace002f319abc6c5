"""A review's editable fields as a typed form: widgets from the review's schema, and the
typed values back (a number stays a number, NaN and Infinity are refused).

The schema is the review's ``form`` (``runtime.nodes.base.FormField`` as stored: ``name,
type, label, required, options, description, value``). A field that holds an AI node's
``label`` whose output lists its ``scores`` per label (``ai_classify``) is a select of the
model's labels, so a reviewer corrects a label only to one the model knows.
"""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

NUMERIC = ("number", "integer")


def options(field: dict[str, Any], context: dict[str, Any]) -> list[Any] | None:
    """The choices of a field, or None for a free input.

    Args:
        field: one form field of the review.
        context: the review's ``context`` (``item`` and ``steps``).

    Returns:
        The field's own options for a select; for ``node.label`` where that node's output
        has ``scores`` (a dict per label), the model's labels; else None.
    """
    if field.get("options"):
        return list(field["options"])
    node, _, key = str(field["name"]).partition(".")
    output = (context.get("steps") or {}).get(node) if key else None
    if key == "label" and isinstance(output, dict) and isinstance(output.get("scores"), dict):
        labels = list(output["scores"])
        current = field.get("value")
        return labels if current in labels or current is None else [current, *labels]
    return None


def parse(field: dict[str, Any], raw: Any, choices: list[Any] | None = None) -> Any:
    """A typed value from what the widget gave.

    Args:
        field: the form field (``type``, ``value`` as it was, ``required``).
        raw: the widget's value (text for numbers and strings, a bool for a checkbox).
        choices: the field's choices, when it is a select.

    Returns:
        The value, typed as the field: an int for an integer (or a number field that held
        an int), a float for a number, a bool, a string; None for an empty optional field.

    Raises:
        ValueError: one line naming the field, what is wrong and what to type.
    """
    name, kind = field["name"], field.get("type") or "string"
    if isinstance(raw, str):
        raw = raw.strip()
    if raw in (None, ""):
        if field.get("required"):
            raise ValueError(f"{name} is required: fill it in")
        return None
    if choices is not None:
        if raw not in choices:
            raise ValueError(f"{name}: {raw!r} is not one of {', '.join(map(str, choices))}")
        return raw
    if kind == "boolean":
        return bool(raw)
    if kind in NUMERIC:
        return _number(name, kind, raw, field.get("value"))
    if len(str(raw)) > 10_000:
        raise ValueError(f"{name}: at most 10,000 characters, got {len(str(raw)):,}")
    return str(raw)


def _number(name: str, kind: str, raw: Any, before: Any) -> int | float:
    try:
        number = float(str(raw).replace(",", "")) if not isinstance(raw, int | float) else raw
    except ValueError:
        raise ValueError(f"{name}: {raw!r} is not a number; type one such as 120.5") from None
    if not math.isfinite(number):
        raise ValueError(f"{name}: {raw!r} is not a finite number; type one such as 120.5")
    whole = float(number).is_integer()
    if kind == "integer":
        if not whole:
            raise ValueError(f"{name}: {raw!r} is not a whole number; type one such as 12")
        return int(number)
    if whole and (isinstance(before, int) and not isinstance(before, bool)):
        return int(number)
    return float(number)


def inputs(review: dict[str, Any], key: str) -> dict[str, Any]:
    """The form's widgets (call inside an ``st.form``), prefilled with the current values.

    Args:
        review: the review row.
        key: the widgets' key prefix.

    Returns:
        Field name -> the widget's raw value (read them with :func:`collect`).
    """
    raw: dict[str, Any] = {}
    for field in review.get("form") or []:
        name, kind = field["name"], field.get("type") or "string"
        label = (field.get("label") or name) + (" *" if field.get("required") else "")
        wkey, value, help_ = f"{key}_{name}", field.get("value"), field.get("description") or None
        choices = options(field, review.get("context") or {})
        if choices is not None:
            index = choices.index(value) if value in choices else None
            raw[name] = st.selectbox(label, choices, index=index, key=wkey, help=help_)
        elif kind == "boolean":
            raw[name] = st.checkbox(label, value=bool(value), key=wkey, help=help_)
        elif kind == "text":
            raw[name] = st.text_area(label, value="" if value is None else str(value), key=wkey)
        else:
            shown = "" if value is None else str(value)
            raw[name] = st.text_input(label, value=shown, key=wkey, help=help_, max_chars=10_000)
    return raw


def collect(review: dict[str, Any], raw: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Typed values of every field, and the problems (one line each).

    Args:
        review: the review row (its ``form`` and ``context``).
        raw: what :func:`inputs` returned.

    Returns:
        ``(values, problems)``: values by field name; problems empty when all parse.
    """
    values: dict[str, Any] = {}
    problems: list[str] = []
    for field in review.get("form") or []:
        name = field["name"]
        try:
            values[name] = parse(field, raw.get(name), options(field, review.get("context") or {}))
        except ValueError as exc:
            problems.append(str(exc))
    return values, problems


def changed(review: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Only the fields whose value differs from the current one (what an edit sends).

    Args:
        review: the review row (its ``form`` with each field's current ``value``).
        values: the typed values.

    Returns:
        The changed fields.
    """
    before = {f["name"]: f.get("value") for f in review.get("form") or []}
    return {k: v for k, v in values.items() if v != before.get(k)}
