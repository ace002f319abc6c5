"""What the Audit and Runs pages share: the time window, downloads built on click, and the
last action's message."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import streamlit as st

FORMATS = {
    "csv": ("CSV", "text/csv"),
    "parquet": ("Parquet", "application/vnd.apache.parquet"),
    "jsonl": ("JSON Lines", "application/x-ndjson"),
}
"""Export format -> (label, MIME type)."""


def window(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    """Two picked days as a time window: from the start of ``since`` to the end of
    ``until`` (both UTC, either open).

    Args:
        since: the first day, or None.
        until: the last day (included), or None.

    Returns:
        (start, end) with ``end`` exclusive.
    """
    start = datetime.combine(since, time.min) if since else None
    end = datetime.combine(until, time.min) + timedelta(days=1) if until else None
    return start, end


def time_window(key: str) -> tuple[datetime | None, datetime | None]:
    """Two optional day pickers ("From", "To"); the window they make (see :func:`window`)."""
    left, right = st.columns(2)
    since = left.date_input("From (UTC)", value=None, key=f"{key}_since", format="YYYY-MM-DD")
    until = right.date_input("To (UTC)", value=None, key=f"{key}_until", format="YYYY-MM-DD")
    return window(since, until)


def export_bytes(write: Callable[[Path], int], fmt: str) -> tuple[bytes, int]:
    """Run an export into a temporary file and return its bytes (the file is removed).

    Args:
        write: writes the export to the path it is given; returns the row count.
        fmt: ``csv``, ``parquet`` or ``jsonl`` (the file's suffix).

    Returns:
        The file's content and its row count.
    """
    with tempfile.TemporaryDirectory(prefix="loopgate-export-") as folder:
        path = Path(folder) / f"export.{fmt}"
        count = write(path)
        return path.read_bytes(), count


def download_buttons(
    stem: str,
    write: Callable[[Path, str], int],
    formats: tuple[str, ...],
    key: str,
    stamp: str = "",
) -> None:
    """Per format, a button that builds the export file, then one that downloads it.

    A built file is kept in the session until the export's filters change (``stamp``), so
    nothing is exported on a rerun that did not ask for it.

    Args:
        stem: the downloaded file's name without its suffix.
        write: ``write(path, fmt)`` writes the export; returns the row count.
        formats: some of :data:`FORMATS`.
        key: the widget keys' prefix.
        stamp: what the export depends on (its filters); a built file of another stamp is
            dropped.
    """
    cols = st.columns(len(formats))
    for col, fmt in zip(cols, formats, strict=True):
        label, mime = FORMATS[fmt]
        slot = f"{key}_{fmt}_file"
        built = st.session_state.get(slot)
        if built is not None and built[0] != stamp:
            built = st.session_state[slot] = None
        with col:
            if built is None and st.button(
                f"Prepare {label}", key=f"{key}_{fmt}_prep", icon=":material/build:"
            ):
                data, count = export_bytes(partial(_write_as, write, fmt), fmt)
                built = st.session_state[slot] = (stamp, data, count)
            if built is not None:
                _, data, count = built
                st.download_button(
                    f"{label} ({count:,} rows)",
                    data=data,
                    file_name=f"{stem}.{fmt}",
                    mime=mime,
                    key=f"{key}_{fmt}",
                    on_click="ignore",
                    icon=":material/download:",
                )


def _write_as(write: Callable[[Path, str], int], fmt: str, path: Path) -> int:
    return write(path, fmt)


def remember(key: str, kind: str, text: str) -> None:
    """Keep an action's outcome (``success`` or ``error``) for the next render."""
    st.session_state[key] = (kind, text)


def show_outcome(key: str) -> None:
    """Show the outcome :func:`remember` kept, if any."""
    kind, text = st.session_state.get(key, (None, None))
    if kind:
        (st.success if kind == "success" else st.error)(text)


def compact(value: Any, width: int = 160) -> str:
    """A JSON-ish one-line view of a value for a table cell, cut at ``width`` characters."""
    import json

    text = "" if value is None else json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"
