"""The read model of a DuckDB store: review queue, runs and feedback as the edges list them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from runtime.errors import NotFoundError
from runtime.store.duckdb.dataset import dataset_query
from runtime.store.duckdb.rows import loads, where
from runtime.store.duckdb.runs import DuckDBRunLedger

# Reviews of one checkpoint (workflow_id, node_id) decided by a person, not by a deadline.
_DECIDED = (
    "r.workflow_id = ? AND r.node_id = ? AND r.status = 'decided' AND r.decided_by <> 'system'"
)

QUEUE_GROUPS = ("team", "workflow_id", "node_id", "priority", "assignee")
"""The columns :meth:`DuckDBReadModel.count_pending_reviews_by` may group by."""

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
        viewer: str | None = None,
        workflow_id: str | None = None,
        assignee: str | None = None,
        priority: str | None = None,
        node_id: str | None = None,
        unassigned: bool = False,
        created_before: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Pending reviews not held by a decision, most urgent and oldest first.

        Args:
            team: only this team's reviews.
            teams: only reviews with no team or a team in this list.
            viewer: with ``teams``, also the reviews assigned to this user (whatever
                their team).
            workflow_id: only this workflow's reviews.
            assignee: only reviews assigned to this user ("": only those assigned to nobody).
            priority: only reviews of this priority.
            node_id: only reviews at this checkpoint node.
            unassigned: only reviews assigned to nobody.
            created_before: only reviews created before this (naive UTC) time.
            limit: at most this many.
            offset: skip this many first.

        Returns:
            Review rows, each with ``context``: its run's item and step outputs.
        """
        clause, params = self._pending_clause(
            teams,
            viewer=viewer,
            team=team,
            workflow_id=workflow_id,
            assignee=assignee,
            priority=priority,
            node_id=node_id,
            unassigned=unassigned,
            created_before=created_before,
        )
        rows = self._rows(
            "SELECT id, run_id, workflow_id, workflow_version, node_id, kind, team, assignee, "
            "priority, instructions, note, reason_codes, actions, form, display, visits, "
            "deadline, on_timeout, created_at, escalated_from, options, due_at, next_step_at, "
            f"escalation_step, delegated_from FROM reviews {clause} "
            f"ORDER BY {_PRIORITY_ORDER}, created_at, id LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return self._with_context(rows)

    def _pending_clause(
        self,
        teams: list[str] | None,
        *,
        viewer: str | None = None,
        unassigned: bool = False,
        created_before: datetime | None = None,
        **filters: str | None,
    ) -> tuple[str, list[Any]]:
        """The WHERE clause of the review queue: pending, not held, the equality filters
        (None filters nothing), ``unassigned`` (or ``assignee=""``) and
        ``created_before`` and, with ``teams``, only those teams' reviews, none's and
        those assigned to ``viewer``."""
        if filters.get("assignee") == "":  # "": the reviews nobody holds
            filters["assignee"] = None
            unassigned = True
        clause, params = where(status="pending", **filters)
        if unassigned:
            clause += " AND assignee IS NULL"
        if created_before is not None:
            clause += " AND created_at < ?"
            params.append(created_before)
        if teams is not None:
            clause += " AND (team IS NULL OR list_contains(?, team) OR assignee = ?)"
            params.extend([teams, viewer])
        held = self.held_review_ids()
        if held:  # being decided right now: no longer on anyone's queue
            clause += " AND id NOT IN (SELECT unnest(?))"
            params.append(held)
        return clause, params

    def count_pending_reviews(
        self,
        *,
        teams: list[str] | None = None,
        viewer: str | None = None,
        team: str | None = None,
        workflow_id: str | None = None,
        assignee: str | None = None,
        priority: str | None = None,
        node_id: str | None = None,
        unassigned: bool = False,
        created_before: datetime | None = None,
    ) -> int:
        """How many reviews :meth:`list_pending_reviews` would list with these filters
        (all of them, no paging)."""
        clause, params = self._pending_clause(
            teams,
            viewer=viewer,
            team=team,
            workflow_id=workflow_id,
            assignee=assignee,
            priority=priority,
            node_id=node_id,
            unassigned=unassigned,
            created_before=created_before,
        )
        return self._cur().execute(f"SELECT count(*) FROM reviews {clause}", params).fetchone()[0]

    def count_pending_reviews_by(
        self,
        group_by: Literal["team", "workflow_id", "node_id", "priority", "assignee"],
        *,
        teams: list[str] | None = None,
        viewer: str | None = None,
        team: str | None = None,
        workflow_id: str | None = None,
        assignee: str | None = None,
        priority: str | None = None,
        node_id: str | None = None,
        unassigned: bool = False,
        created_before: datetime | None = None,
    ) -> dict[str | None, int]:
        """:meth:`count_pending_reviews` per value of one of :data:`QUEUE_GROUPS` (None: no
        team, no assignee); only values with reviews appear."""
        if group_by not in QUEUE_GROUPS:
            raise ValueError(f"cannot group reviews by {group_by!r}")
        clause, params = self._pending_clause(
            teams,
            viewer=viewer,
            team=team,
            workflow_id=workflow_id,
            assignee=assignee,
            priority=priority,
            node_id=node_id,
            unassigned=unassigned,
            created_before=created_before,
        )
        rows = self._cur().execute(
            f"SELECT {group_by}, count(*) FROM reviews {clause} GROUP BY {group_by}", params
        )
        return dict(rows.fetchall())

    def workflow_has_visible_review(self, workflow_id: str, *, teams: list[str], user: str) -> bool:
        """Whether a workflow has a review (any status) of one of ``teams``, with no team,
        or assigned to ``user``: what makes its runs visible (see :meth:`list_runs`)."""
        row = self._cur().execute(
            "SELECT 1 FROM reviews WHERE workflow_id = ? "
            "AND (team IS NULL OR list_contains(?, team) OR assignee = ?) LIMIT 1",
            [workflow_id, teams, user],
        )
        return row.fetchone() is not None

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

    def decided_review_stats(self, workflow_id: str, node_id: str) -> tuple[int, datetime | None]:
        """How many reviews of one checkpoint people decided, and the latest decision's
        time: a cheap check whether a cache of them is stale."""
        row = (
            self._cur()
            .execute(
                f"SELECT count(*), max(decided_at) FROM reviews r WHERE {_DECIDED}",
                [workflow_id, node_id],
            )
            .fetchone()
        )
        return int(row[0]), row[1]

    def decided_reviews(
        self,
        workflow_id: str,
        node_id: str,
        *,
        since: datetime | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """Reviews of one checkpoint people decided (not deadlines), newest first.

        Args:
            workflow_id: the workflow (any version).
            node_id: the checkpoint node.
            since: only those decided at or after this time.
            limit: at most this many (the newest).

        Returns:
            Rows of ``id, run_id, node_id, team, decided_at, decided_by, action, reason,
            note, data`` (the decision's data: edits, a form) and ``item`` (the run's item).
        """
        params: list[Any] = [workflow_id, node_id]
        clause = _DECIDED
        if since is not None:
            clause += " AND r.decided_at >= ?"
            params.append(since)
        return self._rows(
            "SELECT r.id, r.run_id, r.node_id, r.team, r.decided_at, r.decided_by, r.action, "
            "r.reason, r.decision_note AS note, r.data, u.item FROM reviews r "
            f"JOIN runs u ON u.id = r.run_id WHERE {clause} "
            "ORDER BY r.decided_at DESC, r.id DESC LIMIT ?",
            [*params, limit],
        )

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
        workflow_version: int | None = None,
        batch_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
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
            workflow_version: only runs of this version.
            batch_id: only the runs of this batch.
            since: only runs created at or after this time.
            until: only runs created before this time.

        Returns:
            Run rows without their item and state (with ``batch_id`` and ``started_by``).
        """
        clause, params = self._runs_clause(
            status, workflow_id, teams, user, workflow_version=workflow_version, batch_id=batch_id
        )
        if since is not None:
            clause += " AND created_at >= ?"
            params.append(since)
        if until is not None:
            clause += " AND created_at < ?"
            params.append(until)
        return self._rows(
            "SELECT id, workflow_id, workflow_version, status, current_node, step_count, error, "
            "result, created_at, updated_at, finished_at, batch_id, started_by FROM runs "
            f"{clause} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )

    @staticmethod
    def _runs_clause(
        status: str | None,
        workflow_id: str | None,
        teams: list[str] | None,
        user: str | None,
        **more: Any,
    ) -> tuple[str, list[Any]]:
        """The WHERE clause of :meth:`list_runs` (its visibility rule included)."""
        clause, params = where(status=status, workflow_id=workflow_id, **more)
        if teams is not None or user is not None:
            clause += (
                " AND (workflow_id IN (SELECT workflow_id FROM reviews WHERE team IS NULL "
                "OR list_contains(?, team) OR assignee = ?) OR started_by = ?)"
            )
            params += [teams or [], user, user]
        return clause, params

    def count_runs(
        self, *, teams: list[str] | None = None, user: str | None = None
    ) -> dict[str, int]:
        """Runs per status, with :meth:`list_runs`' visibility rule when ``teams`` or
        ``user`` is given."""
        clause, params = self._runs_clause(None, None, teams, user)
        rows = self._cur().execute(
            f"SELECT status, count(*) FROM runs {clause} GROUP BY status", params
        )
        return dict(rows.fetchall())

    def list_feedback(
        self, *, workflow_id: str | None = None, run_id: str | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """Training-data rows (AI output vs human correction), oldest first."""
        clause, params = where(workflow_id=workflow_id, run_id=run_id)
        return self._rows(
            f"SELECT * FROM feedback {clause} ORDER BY created_at, id LIMIT ?", [*params, limit]
        )

    def run_reviews(self, run_id: str) -> list[dict[str, Any]]:
        """A run's reviews (any status), oldest first, without their context: ``id,
        node_id, kind, status, team, assignee, priority, created_at, deadline, decided_at,
        decided_by, action, data, reason, decision_note, rating, escalated_from``."""
        return self._rows(
            "SELECT id, node_id, kind, status, team, assignee, priority, created_at, deadline, "
            "decided_at, decided_by, action, data, reason, decision_note, rating, escalated_from "
            "FROM reviews WHERE run_id = ? ORDER BY created_at, id",
            [run_id],
        )

    def decisions_dataset(
        self,
        *,
        workflow_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """The decisions dataset (docs/dataset.md), oldest decision first.

        Args:
            workflow_id: only this workflow's decisions.
            since: only decisions at or after this time.
            until: only decisions before this time.
            limit: at most this many rows.
            offset: skip this many first.

        Returns:
            Rows with the columns of ``DATASET_COLUMNS`` (JSON columns parsed).
        """
        sql, params = dataset_query({"workflow_id": workflow_id, "since": since, "until": until})
        cur = self._cur().execute(f"{sql} LIMIT ? OFFSET ?", [*params, limit, offset])
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        for row in rows:  # only these are JSON (``decision`` is the action's name)
            for key in ("input", "ai_output", "human_output"):
                row[key] = loads(row[key])
        return rows
