"""The write path: a unit of work writes a batch, settles reviews, refuses and cancels."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import duckdb

from runtime.domain import Event, Settlement, WriteBatch, refusal
from runtime.errors import ReviewNotPendingError, RunError
from runtime.store.duckdb.audit import DuckDBAuditLog
from runtime.store.duckdb.connection import SMALL_BATCH, insert_rows, update_by_id
from runtime.store.duckdb.forks import insert_fork, insert_snapshots
from runtime.store.duckdb.rows import (
    EVENT_COLUMNS,
    FEEDBACK_COLUMNS,
    OUTBOX_COLUMNS,
    RECORD_COLUMNS,
    REVIEW_COLUMNS,
    RUN_COLUMNS,
    RUN_UPDATE_COLUMNS,
    cell,
    dumps,
    run_row,
)
from runtime.store.duckdb.votes import insert_vote, route

_SETTLE_COLUMNS = [
    "id",
    "status",
    "decided_by",
    "decided_at",
    "action",
    "data",
    "reason",
    "note",
    "rating",
]
_SETTLE = (
    "UPDATE reviews SET status = v.status, decided_by = v.decided_by, "
    "decided_at = v.decided_at, action = v.action, data = v.data, "
    "reason = v.reason, decision_note = v.note, rating = v.rating "
    "FROM {source} WHERE reviews.id = v.id AND reviews.status = 'pending' "
    "RETURNING reviews.id"
)


def read_refusal(cur: duckdb.DuckDBPyConnection, review_id: str) -> RunError:
    """Why a review cannot be decided now, read through ``cur``.

    Returns:
        NotFoundError when there is no such review, else ReviewNotPendingError naming who
        decided it and when.
    """
    row = cur.execute(
        "SELECT status, decided_by, decided_at FROM reviews WHERE id = ?", [review_id]
    ).fetchone()
    if row is None:
        return refusal(review_id, None)
    status, by, at = row
    return ReviewNotPendingError(
        review_id, status, by, at.isoformat(timespec="seconds") + "Z" if at else None
    )


class DuckDBUnitOfWork:
    """One write transaction on a DuckDB store (``runtime.store.contract.UnitOfWork``)."""

    def __init__(self, store: DuckDBWrites, cur: duckdb.DuckDBPyConnection):
        """Wrap the open transaction ``cur`` of ``store``."""
        self._store = store
        self._cur = cur

    def write(self, batch: WriteBatch) -> None:
        """Write a batch (runs, reviews, feedback, records, outbox, chained events)."""
        self._store.write(self._cur, batch)

    def settle(self, settlements: Sequence[Settlement]) -> set[str]:
        """Mark pending reviews decided or expired; returns the ids that changed."""
        return self._store._settle(self._cur, settlements)

    def refusal(self, review_id: str) -> RunError:
        """Why a review cannot be decided now."""
        return read_refusal(self._cur, review_id)

    def cancel_reviews(self, run_id: str, by: str, at: datetime) -> list[str]:
        """Cancel a run's pending reviews; returns their ids."""
        rows = self._cur.execute(
            "UPDATE reviews SET status = 'cancelled', decided_by = ?, decided_at = ? "
            "WHERE run_id = ? AND status = 'pending' RETURNING id",
            [by, at, run_id],
        ).fetchall()
        return [r[0] for r in rows]

    def assign_review(self, review_id: str, assignee: str | None, *, expected: str | None) -> bool:
        """Set a pending review's assignee while it is still ``expected``; True if it changed."""
        row = self._cur.execute(
            "UPDATE reviews SET assignee = ? WHERE id = ? AND status = 'pending' "
            "AND assignee IS NOT DISTINCT FROM ? RETURNING id",
            [assignee, review_id, expected],
        ).fetchone()
        return row is not None

    def record_fork(self, fork: dict[str, Any]) -> None:
        """Record where a forked run came from."""
        insert_fork(self._cur, fork)

    def mark_delegated(self, review_id: str, user: str | None) -> None:
        """Record whose review it was before a delegation gave it away (None: nobody's)."""
        self._cur.execute("UPDATE reviews SET delegated_from = ? WHERE id = ?", [user, review_id])

    def add_vote(self, review_id: str, **vote: Any) -> bool:
        """Record one person's vote (see ``runtime.store.votes_contract.VoteWrites``)."""
        return insert_vote(self._cur, review_id, **vote)

    def route_review(self, review_id: str, *, team: str | None, assignee: str | None) -> bool:
        """Give a pending review to another team and assignee; True if it changed."""
        return route(self._cur, review_id, team, assignee)

    def forget_journal(self, seqs: Sequence[int]) -> None:
        """Remove applied decisions from the journal."""
        if seqs:
            self._cur.execute(
                "DELETE FROM decision_journal WHERE seq IN (SELECT unnest(?))", [list(seqs)]
            )


class DuckDBWrites(DuckDBAuditLog):
    """The write path of a DuckDB store: units of work and what they write."""

    @contextlib.contextmanager
    def unit_of_work(self) -> Iterator[DuckDBUnitOfWork]:
        """A write transaction as the contract's unit of work (see :meth:`transaction`).

        Raises:
            StoreError: the store is open read-only.
        """
        with self.transaction() as cur:
            yield DuckDBUnitOfWork(self, cur)

    def write(self, cur: duckdb.DuckDBPyConnection, batch: WriteBatch) -> None:
        """Write a batch inside an open transaction: a few statements however many rows.

        Args:
            cur: the cursor :meth:`transaction` yielded.
            batch: runs (inserted when new, else updated), reviews, feedback, records (the
                last write of a key wins), outbox rows, and events chained onto the audit
                trail.
        """
        if batch.runs:
            runs = batch.runs.values()
            insert_rows(
                cur, "runs", RUN_COLUMNS, [run_row(r, RUN_COLUMNS) for r in runs if r.is_new]
            )
            update_by_id(
                cur,
                "runs",
                RUN_UPDATE_COLUMNS,
                [run_row(r, RUN_UPDATE_COLUMNS) for r in runs if not r.is_new],
            )
        if batch.reviews:
            rows = [[cell(c, getattr(r, c)) for c in REVIEW_COLUMNS] for r in batch.reviews]
            insert_rows(cur, "reviews", REVIEW_COLUMNS, rows)
            insert_snapshots(cur, batch.reviews)  # the run's data there: forks start from it
        if batch.feedback:
            rows = [[cell(c, r.get(c)) for c in FEEDBACK_COLUMNS] for r in batch.feedback]
            insert_rows(cur, "feedback", FEEDBACK_COLUMNS, rows)
        if batch.records:
            latest = {(r["table_name"], r["key"]): r for r in batch.records}  # last write wins
            rows = [[cell(c, r.get(c)) for c in RECORD_COLUMNS] for r in latest.values()]
            insert_rows(cur, "records", RECORD_COLUMNS, rows)
        if batch.outbox:
            rows = [[cell(c, r.get(c)) for c in OUTBOX_COLUMNS] for r in batch.outbox]
            insert_rows(cur, "outbox", OUTBOX_COLUMNS, rows)
        if batch.events:
            insert_rows(cur, "audit_events", EVENT_COLUMNS, self._chain(batch.events))
            self._seal(cur)  # the new head, signed in the same transaction

    def commit(self, batch: WriteBatch) -> None:
        """Write a batch in a transaction of its own (nothing for an empty batch)."""
        if batch:
            with self.transaction() as cur:
                self.write(cur, batch)

    def append_events(self, events: list[Event]) -> None:
        """Append audit events in a transaction of their own."""
        self.commit(WriteBatch(events=events))

    def _settle(self, cur: duckdb.DuckDBPyConnection, decisions: Sequence[Settlement]) -> set[str]:
        """Mark pending reviews decided (or expired) in an open transaction, one statement
        for all; returns the ids that were still pending (only those changed)."""
        if not decisions:
            return set()
        rows = [
            [
                d.id,
                d.status,
                d.decided_by,
                d.decided_at,
                d.action,
                dumps(d.data) if d.data else None,
                d.reason,
                d.note,
                d.rating,
            ]
            for d in decisions
        ]
        if len(rows) <= SMALL_BATCH:
            marks = "(?, ?, ?, CAST(? AS TIMESTAMP), ?, ?, ?, ?, CAST(? AS INTEGER))"
            source = f"(VALUES {', '.join([marks] * len(rows))}) AS v({', '.join(_SETTLE_COLUMNS)})"
            done = cur.execute(_SETTLE.format(source=source), [x for r in rows for x in r])
            return {r[0] for r in done.fetchall()}
        import pyarrow as pa  # late: commands that only read never load it

        types = [pa.string()] * 3 + [pa.timestamp("us")] + [pa.string()] * 4 + [pa.int32()]
        frame = pa.table(
            {
                c: pa.array([r[i] for r in rows], t)
                for i, (c, t) in enumerate(zip(_SETTLE_COLUMNS, types, strict=True))
            }
        )
        cur.register("_lg_decisions", frame)
        try:
            done = cur.execute(_SETTLE.format(source="_lg_decisions AS v"))
            return {r[0] for r in done.fetchall()}
        finally:
            cur.unregister("_lg_decisions")
