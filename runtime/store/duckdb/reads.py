"""The read model of a DuckDB store: review queue, runs and feedback as the edges list them."""

from __future__ import annotations

from typing import Any

from runtime.errors import NotFoundError
from runtime.store.duckdb.rows import where
from runtime.store.duckdb.runs import DuckDBRunLedger

_PRIORITY_ORDER = (
    "CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END"
)


class DuckDBReadModel(DuckDBRunLedger):
    """The reads ``runtime.queries`` builds on (``runtime.store.contract.ReadModel``)."""

    def list_pending_reviews(
        self,
        *,
        team: str | None = None,
        teams: list[str] | None = None,
        workflow_id: str | None = None,
        assignee: str | None = None,
        priority: str | None = None,
        node_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Pending reviews not held by a decision, most urgent and oldest first.

        Args:
            team: only this team's reviews.
            teams: only reviews with no team or a team in this list.
            workflow_id: only this workflow's reviews.
            assignee: only reviews assigned to this user.
            priority: only reviews of this priority.
            node_id: only reviews at this checkpoint node.
            limit: at most this many.
            offset: skip this many first.

        Returns:
            Review rows, each with ``context``: its run's item and step outputs.
        """
        clause, params = where(
            status="pending",
            team=team,
            workflow_id=workflow_id,
            assignee=assignee,
            priority=priority,
            node_id=node_id,
        )
        if teams is not None:
            clause += " AND (team IS NULL OR list_contains(?, team))"
            params.append(teams)
        held = self.held_review_ids()
        if held:  # being decided right now: no longer on anyone's queue
            clause += " AND id NOT IN (SELECT unnest(?))"
            params.append(held)
        rows = self._rows(
            "SELECT id, run_id, workflow_id, workflow_version, node_id, kind, team, assignee, "
            "priority, instructions, note, reason_codes, actions, form, display, visits, "
            f"deadline, on_timeout, created_at, escalated_from FROM reviews {clause} "
            f"ORDER BY {_PRIORITY_ORDER}, created_at, id LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return self._with_context(rows)

    def count_pending_reviews(self) -> int:
        """How many reviews are pending and not held."""
        held = self.held_review_ids()
        return (
            self._cur()
            .execute(
                "SELECT count(*) FROM reviews WHERE status = 'pending' "
                "AND NOT list_contains(?, id)",
                [held],
            )
            .fetchone()[0]
        )

    def get_review(self, review_id: str) -> dict[str, Any]:
        """One review (any status) with its run's context.

        Raises:
            NotFoundError: there is no such review.
        """
        rows = self._with_context(self._rows("SELECT * FROM reviews WHERE id = ?", [review_id]))
        if not rows:
            raise NotFoundError(
                f"review {review_id} does not exist; list pending ones with `loopgate reviews`"
            )
        return rows[0]

    def _with_context(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Add each review's context (the run's item and step outputs) for the reviewer."""
        if rows:
            contexts = self._run_contexts(self._cur(), list({r["run_id"] for r in rows}))
            for r in rows:
                ctx = contexts.get(r["run_id"]) or {}
                r["context"] = {"item": ctx.get("item"), "steps": ctx.get("steps", {})}
        return rows

    def list_runs(
        self,
        *,
        status: str | None = None,
        workflow_id: str | None = None,
        teams: list[str] | None = None,
        user: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Runs, newest first.

        Args:
            status: only runs in this status.
            workflow_id: only this workflow's runs.
            teams: with ``user``, the visibility rule: when either is given, only runs of
                workflows with a review (any status) whose team is NULL or in ``teams``
                (None counts as no team) or assigned to ``user``, plus the runs ``user``
                started. Both None: every run.
            user: see ``teams``.
            limit: at most this many.
            offset: skip this many first.

        Returns:
            Run rows without their item and state.
        """
        clause, params = where(status=status, workflow_id=workflow_id)
        if teams is not None or user is not None:
            clause += (
                " AND (workflow_id IN (SELECT workflow_id FROM reviews WHERE team IS NULL "
                "OR list_contains(?, team) OR assignee = ?) OR started_by = ?)"
            )
            params += [teams or [], user, user]
        return self._rows(
            "SELECT id, workflow_id, workflow_version, status, current_node, step_count, error, "
            f"result, created_at, updated_at, finished_at FROM runs {clause} "
            "ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )

    def count_runs(self) -> dict[str, int]:
        """Runs per status."""
        rows = self._cur().execute("SELECT status, count(*) FROM runs GROUP BY status")
        return dict(rows.fetchall())

    def list_feedback(
        self, *, workflow_id: str | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """Training-data rows (AI output vs human correction), oldest first."""
        clause, params = where(workflow_id=workflow_id)
        return self._rows(
            f"SELECT * FROM feedback {clause} ORDER BY created_at, id LIMIT ?", [*params, limit]
        )
