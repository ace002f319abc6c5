"""Escalation steps, SLAs and delegations of a DuckDB store (all of their SQL)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from runtime.domain import DueStep, WriteBatch
from runtime.store.duckdb.unit_of_work import DuckDBWrites


class DuckDBEscalation(DuckDBWrites):
    """``runtime.store.escalation_contract.EscalationStore`` on DuckDB."""

    def due_steps(self, now: datetime, limit: int = 1000) -> list[DueStep]:
        """Pending reviews whose next escalation step is due at ``now``, oldest first."""
        rows = self._rows(
            "SELECT id, workflow_id, workflow_version, node_id, created_at, "
            "coalesce(escalation_step, 0) AS escalation_step, next_step_at, team, assignee, "
            "priority, run_id FROM reviews WHERE status = 'pending' "
            "AND next_step_at IS NOT NULL AND next_step_at <= ? "
            "ORDER BY next_step_at, id LIMIT ?",
            [now, limit],
        )
        return [DueStep(**r) for r in rows]

    def advance_review(
        self,
        review_id: str,
        expected_step: int,
        *,
        step: int,
        next_step_at: datetime | None,
        team: str | None,
        assignee: str | None,
        priority: str,
        delegated_from: str | None,
        note: str | None,
        batch: WriteBatch,
    ) -> bool:
        """Move a pending review to escalation ``step`` (its holder and priority too; a
        ``note`` replaces its note) and write ``batch`` (its audit events, outbox rows) in
        the same transaction, only while it is still pending at ``expected_step``: of two
        sweepers racing, one wins.

        Returns:
            True when this call changed the review (and wrote the batch).
        """
        with self.transaction() as cur:
            row = cur.execute(
                "UPDATE reviews SET escalation_step = ?, next_step_at = ?, team = ?, "
                "assignee = ?, priority = ?, delegated_from = ?, note = coalesce(?, note) "
                "WHERE id = ? AND status = 'pending' "
                "AND coalesce(escalation_step, 0) = ? RETURNING id",
                [
                    step,
                    next_step_at,
                    team,
                    assignee,
                    priority,
                    delegated_from,
                    note,
                    review_id,
                    expected_step,
                ],
            ).fetchone()
            if row is None:
                return False
            self.write(cur, batch)
            return True

    def count_overdue_reviews(
        self, now: datetime, *, teams: list[str] | None = None, user: str | None = None
    ) -> tuple[int, int]:
        """Pending reviews with an SLA, and how many of them are past it at ``now``.

        ``teams``/``user``: the access rule of someone who may not see every review
        (reviews with no team, of one of ``teams``, or assigned to ``user``); None: all.
        """
        sql = (
            "SELECT count(*), count(*) FILTER (WHERE due_at <= ?) FROM reviews "
            "WHERE status = 'pending' AND due_at IS NOT NULL"
        )
        params: list[Any] = [now]
        if teams is not None:
            sql += " AND (team IS NULL OR list_contains(?, team) OR assignee = ?)"
            params += [list(teams), user]
        row = self._cur().execute(sql, params).fetchone()
        return int(row[0]), int(row[1])

    # ------------------------------------------------------------ delegations

    def set_delegation(
        self,
        user: str,
        delegate: str,
        starts_at: datetime,
        ends_at: datetime,
        *,
        note: str | None,
        by: str,
        at: datetime,
        batch: WriteBatch,
    ) -> None:
        """Set (replace) ``user``'s delegation and write ``batch`` (its audit event)."""
        with self.transaction() as cur:
            cur.execute("DELETE FROM delegations WHERE user_name = ?", [user])
            cur.execute(
                "INSERT INTO delegations VALUES (?, ?, ?, ?, ?, ?, ?)",
                [user, delegate, starts_at, ends_at, note, by, at],
            )
            self.write(cur, batch)

    def clear_delegation(self, user: str, *, batch: WriteBatch) -> bool:
        """Remove ``user``'s delegation and write ``batch``; False when there was none
        (then nothing is written)."""
        with self.transaction() as cur:
            row = cur.execute(
                "DELETE FROM delegations WHERE user_name = ? RETURNING user_name", [user]
            ).fetchone()
            if row is None:
                return False
            self.write(cur, batch)
            return True

    def list_delegations(self) -> list[dict[str, Any]]:
        """Every delegation: ``user_name, delegate, starts_at, ends_at, note, set_by,
        set_at``, by user."""
        return self._rows("SELECT * FROM delegations ORDER BY user_name")
