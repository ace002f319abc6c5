"""The decisions dataset: one row per settled review, with the input, the AI's output, the
person's output, the decision, its reason, the reviewer, the model and the time (columns in
docs/dataset.md). The training data the feedback loop produces, for a fine-tuning or
evaluation pipeline; the feedback table (one row per correction or judged output) is its
finer-grained sibling.

Who may read it: admins and auditors (they read everything) and designers (they train the
models). The local trusted caller (None) too.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from runtime.access import User, require_reader

if TYPE_CHECKING:
    from runtime.store.contract import ExportFormat, Store

READER_ROLES = ("designer",)
"""Roles besides admin and auditor that may read the dataset."""

MAX_ROWS = 100_000
"""The most rows one page read or one download holds (a download is held in memory)."""

Dataset = Literal["decisions", "feedback"]


class DatasetFilter(BaseModel):
    """Which decisions (None: no filter).

    Attributes:
        workflow_id: only this workflow's decisions.
        since: only decisions at or after this time (UTC).
        until: only decisions before this time (UTC).
    """

    workflow_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def problem(self) -> str | None:
        """What is wrong with these filters (a time window that ends before it starts)."""
        if self.since and self.until and self.until <= self.since:
            return (
                f"the time window ends ({self.until:%Y-%m-%d %H:%M}) before it starts "
                f"({self.since:%Y-%m-%d %H:%M}); pick an end after the start"
            )
        return None


def _check(user: User | None, filters: DatasetFilter) -> None:
    require_reader(user, roles=READER_ROLES, what="read the decisions dataset")
    if problem := filters.problem():
        raise ValueError(problem)


def decision_rows(
    store: Store,
    user: User | None,
    filters: DatasetFilter | None = None,
    *,
    limit: int = 1000,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Rows of the decisions dataset, oldest decision first.

    Args:
        store: the store.
        user: the signed-in user, or None for the local trusted caller.
        filters: workflow and time window of the decision.
        limit: at most this many rows (capped at :data:`MAX_ROWS`).
        offset: skip this many first.

    Returns:
        Rows with the columns of docs/dataset.md (``input``, ``ai_output`` and
        ``human_output`` as Python values).

    Raises:
        AccessError: the user may not read the dataset.
        ValueError: the time window ends before it starts.
    """
    filters = filters or DatasetFilter()
    _check(user, filters)
    return store.decisions_dataset(
        **filters.model_dump(), limit=max(0, min(limit, MAX_ROWS)), offset=max(0, offset)
    )


def export_dataset(
    store: Store,
    user: User | None,
    dataset: Dataset,
    fmt: ExportFormat,
    out: str | Path,
    filters: DatasetFilter | None = None,
    *,
    limit: int | None = None,
) -> int:
    """Write the decisions dataset or the feedback rows to a JSON Lines, Parquet or CSV file.

    Args:
        store: the store.
        user: the signed-in user, or None for the local trusted caller.
        dataset: ``decisions`` (one row per settled review) or ``feedback`` (one row per
            correction or judged AI output).
        fmt: ``jsonl``, ``parquet`` or ``csv``.
        out: the file to write (its folder is created).
        filters: for ``decisions``, workflow and time window; for ``feedback``, the
            workflow only.
        limit: the most rows (None: all of them).

    Returns:
        How many rows were written.

    Raises:
        AccessError: the user may not read the dataset.
        ValueError: the time window ends before it starts, or a time window on feedback.
    """
    filters = filters or DatasetFilter()
    _check(user, filters)
    if dataset == "feedback":
        if filters.since or filters.until:
            raise ValueError("the feedback export takes a workflow, not a time window")
        chosen = {"workflow_id": filters.workflow_id} if filters.workflow_id else {}
    else:
        chosen = {k: v for k, v in filters.model_dump().items() if v is not None}
    return store.export(dataset, fmt, out, filters=chosen, limit=limit)
