"""Forks in a DuckDB store: the run's data kept at each checkpoint, and forked runs' origins
(``runtime.store.fork_contract``; the engine side is ``runtime/engine/fork.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb

from runtime.domain import ReviewRecord
from runtime.store.duckdb.connection import DuckDBConnection, insert_rows
from runtime.store.duckdb.rows import dumps, loads

SNAPSHOT_COLUMNS = ["review_id", "run_id", "node_id", "item", "state", "step_count", "created_at"]
FORK_COLUMNS = [
    "run_id",
    "forked_from",
    "node_id",
    "review_id",
    "original",
    "decision",
    "forked_by",
    "forked_at",
]


def insert_snapshots(cur: duckdb.DuckDBPyConnection, reviews: Sequence[ReviewRecord]) -> None:
    """Keep the run's data of each new review that carries it (one statement for all).

    Args:
        cur: the cursor of an open transaction.
        reviews: the reviews a batch writes; those without a ``snapshot`` are skipped.
    """
    rows = []
    for r in reviews:
        snap = r.snapshot
        if snap is None:
            continue
        state = {"steps": snap["steps"], "review": snap["review"], "visits": snap["visits"]}
        rows.append(
            [
                r.id,
                r.run_id,
                r.node_id,
                dumps(snap["item"]),
                dumps(state),
                snap["step_count"],
                r.created_at,
            ]
        )
    insert_rows(cur, "checkpoint_states", SNAPSHOT_COLUMNS, rows)


def insert_fork(cur: duckdb.DuckDBPyConnection, fork: dict[str, Any]) -> None:
    """Record a forked run's origin (the keys of :data:`FORK_COLUMNS`)."""
    row = [
        dumps(fork[c]) if c in ("original", "decision") and fork[c] is not None else fork[c]
        for c in FORK_COLUMNS
    ]
    insert_rows(cur, "run_forks", FORK_COLUMNS, [row])


def _fork_row(row: dict[str, Any]) -> dict[str, Any]:
    for key in ("original", "decision"):
        if isinstance(row.get(key), str):
            row[key] = loads(row[key])
    return row


class DuckDBForks(DuckDBConnection):
    """The fork reads of a DuckDB store (``runtime.store.fork_contract.ForkReads``)."""

    def checkpoint_state(self, review_id: str) -> dict[str, Any] | None:
        """The run's data when it stopped at this review's checkpoint: ``item, steps,
        review, visits, step_count``; None when it was not kept (a review created before
        the forks migration)."""
        rows = self._rows(
            "SELECT item, state, step_count FROM checkpoint_states WHERE review_id = ? LIMIT 1",
            [review_id],
        )
        if not rows:
            return None
        state = rows[0]["state"] or {}
        return {
            "item": rows[0]["item"],
            "steps": state.get("steps") or {},
            "review": state.get("review"),
            "visits": state.get("visits") or {},
            "step_count": rows[0]["step_count"],
        }

    def checkpoint_state_ids(self, run_id: str) -> set[str]:
        """The reviews of a run whose checkpoint data is kept (a fork may start there)."""
        rows = self._cur().execute(
            "SELECT review_id FROM checkpoint_states WHERE run_id = ?", [run_id]
        )
        return {r[0] for r in rows.fetchall()}

    def fork_origin(self, run_id: str) -> dict[str, Any] | None:
        """Where a forked run came from (``run_id, forked_from, node_id, review_id,
        original, decision, forked_by, forked_at``); None for a run that is no fork."""
        rows = self._rows("SELECT * FROM run_forks WHERE run_id = ?", [run_id])
        return _fork_row(rows[0]) if rows else None

    def forks_of(self, run_id: str) -> list[dict[str, Any]]:
        """The runs forked from this one (rows as :meth:`fork_origin`), oldest first."""
        rows = self._rows(
            "SELECT * FROM run_forks WHERE forked_from = ? ORDER BY forked_at, run_id", [run_id]
        )
        return [_fork_row(r) for r in rows]
