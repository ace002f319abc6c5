"""Runs and reviews as the engine resumes them: claims, due reviews, holds, the journal."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import duckdb

from runtime.domain import Claim, DueReview, JournalEntry, RunRecord, refusal
from runtime.errors import NotFoundError, ReviewNotPendingError, StoreError
from runtime.store.duckdb.connection import FileState
from runtime.store.duckdb.rows import CLAIM_COLUMNS, RUN_COLUMNS, dumps, loads, run_record
from runtime.store.duckdb.unit_of_work import DuckDBWrites, read_refusal


def _not_pending(review_id: str, held: tuple[str, str, datetime]) -> ReviewNotPendingError:
    status, by, at = held
    return ReviewNotPendingError(review_id, status, by, at.isoformat(timespec="seconds") + "Z")


class DuckDBRunLedger(DuckDBWrites):
    """Runs, claims, holds and the decision journal of a DuckDB store
    (``runtime.store.contract.RunLedger`` and ``DecisionLedger``).

    Holds live in the file's shared state: one process owns a DuckDB file, so holding a
    review there is enough for exactly one decider to win.
    """

    def _load_state(self, fs: FileState) -> None:
        super()._load_state(fs)
        if not self.read_only:
            row = self._cur().execute("SELECT max(seq) FROM decision_journal").fetchone()
            fs.journal_seq = row[0] or 0

    # ------------------------------------------------------------ runs

    def get_run(self, run_id: str) -> dict[str, Any]:
        """One run's row.

        Raises:
            NotFoundError: there is no such run (names the id).
        """
        rows = self._rows("SELECT * FROM runs WHERE id = ?", [run_id])
        if not rows:
            raise NotFoundError(f"run {run_id} does not exist in {self.path}")
        return rows[0]

    def load_run(self, run_id: str) -> RunRecord:
        """One run as the engine works on it.

        Raises:
            NotFoundError: there is no such run (names the id).
        """
        return run_record(self.get_run(run_id))

    def run_ids_by_status(self, status: str) -> list[str]:
        """Ids of the runs in one status, in id order."""
        rows = self._cur().execute("SELECT id FROM runs WHERE status = ? ORDER BY id", [status])
        return [r[0] for r in rows.fetchall()]

    def batch_runs(self, batch_id: str) -> dict[str, dict[str, Any]]:
        """Runs already started for a batch, by idempotency key (``id, status,
        current_node``)."""
        rows = self._rows(
            "SELECT idempotency_key, id, status, current_node FROM runs WHERE batch_id = ?",
            [batch_id],
        )
        return {r["idempotency_key"]: r for r in rows}

    def run_outputs(self, run_id: str) -> dict[str, Any]:
        """Each node's latest output in a run, from the audit trail."""
        rows = self._rows(
            "SELECT node_id, output FROM steps WHERE run_id = ? ORDER BY seq", [run_id]
        )
        return {
            r["node_id"]: json.loads(r["output"]) if isinstance(r["output"], str) else r["output"]
            for r in rows
        }

    # ------------------------------------------------------------ reviews

    def _run_contexts(
        self, cur: duckdb.DuckDBPyConnection, run_ids: list[str]
    ) -> dict[str, dict[str, Any]]:
        """What resuming a waiting run needs, read from the runs (one statement)."""
        rows = cur.execute(
            "SELECT id, item, state FROM runs WHERE id IN (SELECT unnest(?))", [run_ids]
        ).fetchall()
        out = {}
        for run_id, item, state in rows:
            st = (loads(state) if isinstance(state, str) else state) or {}
            out[run_id] = {
                "item": loads(item) if isinstance(item, str) else item,
                "steps": st.get("steps", {}),
            }
        return out

    def pending_review_for_run(self, run_id: str) -> dict[str, Any] | None:
        """The run's pending review (``id, node_id, team``), or None."""
        rows = self._rows(
            "SELECT id, node_id, team FROM reviews WHERE run_id = ? AND status = 'pending'",
            [run_id],
        )
        return rows[0] if rows else None

    def review_claims(self, review_ids: Sequence[str]) -> dict[str, Claim]:
        """Reviews with their waiting runs, as deciding them needs (one read for all).

        Each has its ``status`` now, plus ``decided_by`` and ``decided_at``; an id that
        does not exist is left out.
        """
        if not review_ids:
            return {}
        n = len(CLAIM_COLUMNS)
        rows = (
            self._cur()
            .execute(
                f"SELECT r.id, {', '.join('r.' + c for c in CLAIM_COLUMNS)}, r.status, "
                f"r.decided_by, r.decided_at, r.assignee, "
                f"{', '.join('u.' + c for c in RUN_COLUMNS)} "
                "FROM reviews r JOIN runs u ON u.id = r.run_id WHERE r.id IN (SELECT unnest(?))",
                [list(review_ids)],
            )
            .fetchall()
        )
        out = {}
        for row in rows:
            rec = dict(zip(CLAIM_COLUMNS, row[1 : n + 1], strict=True))
            rec["form"] = loads(rec["form"]) or []
            rec["reason_codes"] = list(rec["reason_codes"] or [])
            rec["options"] = list(rec["options"] or [])
            status = row[n + 1 : n + 5]
            rec["status"], rec["decided_by"], rec["decided_at"], rec["assignee"] = status
            run = run_record(dict(zip(RUN_COLUMNS, row[n + 5 :], strict=True)))
            out[row[0]] = Claim(id=row[0], run=run, **rec)
        return out

    def review_claim(self, review_id: str) -> Claim:
        """A pending review with its run's context, as a decision needs it.

        Raises:
            ReviewNotPendingError: decided, expired or cancelled (says by whom and when).
            NotFoundError: there is no such review.
        """
        claim = self.review_claims([review_id]).get(review_id)
        if claim is None or claim.status != "pending":
            raise refusal(review_id, claim)
        return claim

    def due_reviews(self, now: datetime) -> list[DueReview]:
        """Pending reviews whose deadline is at or before ``now``, oldest deadline first."""
        rows = self._rows(
            "SELECT id, run_id, node_id, kind, team, on_timeout, escalate_to, deadline "
            "FROM reviews WHERE status = 'pending' AND deadline IS NOT NULL AND deadline <= ? "
            "ORDER BY deadline, id",
            [now],
        )
        return [DueReview(**r) for r in rows]

    # ------------------------------------------------------------ holds

    def hold_reviews(
        self, review_ids: Sequence[str], *, status: str, by: str, at: datetime
    ) -> tuple[list[str], dict[str, ReviewNotPendingError]]:
        """Hold reviews for a decision path before it settles them in a unit of work.

        Release with :meth:`release_reviews` after the commit.

        Returns:
            The ids now held by the caller and, for the others, why not (another decision
            holds them).
        """
        held, busy = [], {}
        with self._held_lock:
            for rid in dict.fromkeys(review_ids):
                other = self._held.get(rid)
                if other is not None:
                    busy[rid] = _not_pending(rid, other)
                    continue
                self._held[rid] = (status, by, at)
                held.append(rid)
        return held, busy

    def release_reviews(self, review_ids: Iterable[str]) -> None:
        """Release holds (after the settling unit of work committed or failed)."""
        with self._held_lock:
            for rid in review_ids:
                self._held.pop(rid, None)

    def check_not_held(self, review_id: str) -> None:
        """Raise ReviewNotPendingError when another decision holds this review."""
        other = self._held.get(review_id)
        if other is not None:
            raise _not_pending(review_id, other)

    def held_review_ids(self) -> list[str]:
        """Every review held right now."""
        with self._held_lock:
            return list(self._held)

    # ------------------------------------------------------------ decision journal

    def journal_decision(
        self, review_id: str, *, by: str, at: datetime, decision: dict[str, Any]
    ) -> int:
        """Make a decision durable with one statement and hold its review.

        The journal row is written only if the review is pending and no other decision
        holds it; the review stays held until the engine has applied the decision.

        Returns:
            The journal sequence number.

        Raises:
            ReviewNotPendingError: decided or held by someone else (names who and when).
            NotFoundError: there is no such review.
            StoreError: the row could not be written.
        """
        with self._held_lock:
            other = self._held.get(review_id)
            if other is not None:
                raise _not_pending(review_id, other)
            seq = self._journal_seq + 1
            try:
                written = self._j.execute(
                    "INSERT INTO decision_journal SELECT ?, ?, ?, ?, ? FROM reviews "
                    "WHERE id = ? AND status = 'pending'",
                    [seq, review_id, by, at, dumps(decision), review_id],
                ).fetchone()[0]
            except duckdb.Error as exc:
                raise StoreError(
                    f"could not record the decision on {review_id} in {self.path}: {exc}"
                ) from None
            if not written:
                raise read_refusal(self._j, review_id)
            self._journal_seq = seq
            self._held[review_id] = ("decided", by, at)
        return seq

    def journal_entries(self) -> list[JournalEntry]:
        """The journal, oldest first, each row with its review's status now: a row whose
        review is still pending was not applied (its process stopped first)."""
        rows = self._rows(
            "SELECT j.seq, j.review_id, j.decided_by, j.decided_at, j.decision, "
            "coalesce(r.status, 'missing') AS review_status "
            "FROM decision_journal j LEFT JOIN reviews r ON r.id = j.review_id ORDER BY j.seq"
        )
        return [JournalEntry(**r) for r in rows]

    def forget_journal(self, seqs: Sequence[int]) -> None:
        """Remove applied rows from the journal in a transaction of their own."""
        if seqs:
            with self.unit_of_work() as uow:
                uow.forget_journal(seqs)
