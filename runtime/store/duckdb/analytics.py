"""The dashboards' aggregates over reviews, feedback, runs and the audit trail
(``runtime.store.contract.AnalyticsReads``); every filter is a bound parameter."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from runtime.store.contract import AnalyticsScope
from runtime.store.duckdb.connection import DuckDBConnection

_APPROVE = "('approve', 'edit', 'accept')"
_REJECT = "('reject', 'revise')"
_PEOPLE = "r.status = 'decided' AND r.decided_by <> 'system'"
_SECONDS = "date_diff('millisecond', r.created_at, r.decided_at) / 1000.0"
# Per review: did any feedback row record a correction or a turned-down output?
_CHANGED = (
    "SELECT review_id, bool_or(path IS NOT NULL OR human_output IS NULL) AS changed "
    "FROM feedback WHERE created_at >= ? GROUP BY review_id"
)
_EPOCH = datetime(1970, 1, 1)


def _floor(scope: AnalyticsScope) -> datetime:
    """A lower bound on the feedback rows of reviews in the window: a review's feedback is
    written when it is decided, after it was created (either time starts the window)."""
    return scope.since or _EPOCH


_BUCKETS = ("hour", "day", "week")


def scope_clause(
    scope: AnalyticsScope,
    *,
    at: str | None,
    alias: str = "r",
    reviewer: str | None = "decided_by",
    node: bool = True,
    team: bool = True,
) -> tuple[str, list[Any]]:
    """The conditions a scope puts on ``alias`` (a reviews row), joined by AND, and their
    parameters.

    Args:
        scope: the filters.
        at: the time column the window applies to (None: no window).
        alias: the reviews table's alias.
        reviewer: the column the reviewer filter applies to (None: ignored).
        node: apply the node filter.
        team: apply the team filter.
    """
    clauses, params = ["true"], []
    columns = [("workflow_id", scope.workflow_id), ("workflow_version", scope.workflow_version)]
    if node:
        columns.append(("node_id", scope.node_id))
    if team:
        columns.append(("team", scope.team))
    if reviewer:
        columns.append((reviewer, scope.reviewer))
    for column, value in columns:
        if value is not None:
            clauses.append(f"{alias}.{column} = ?")
            params.append(value)
    if scope.teams is not None:
        clauses.append(f"({alias}.team IS NULL OR list_contains(?, {alias}.team))")
        params.append(list(scope.teams))
    if at is not None:
        if scope.since is not None:
            clauses.append(f"{at} >= ?")
            params.append(scope.since)
        if scope.until is not None:
            clauses.append(f"{at} < ?")
            params.append(scope.until)
    return " AND ".join(clauses), params


def _runs_clause(scope: AnalyticsScope, alias: str, at: str | None) -> tuple[str, list[Any]]:
    """A scope's conditions on a runs row: workflow, version, window, and the access rule
    (runs of workflows with a review the user may see)."""
    clauses, params = ["true"], []
    for column, value in (
        ("workflow_id", scope.workflow_id),
        ("workflow_version", scope.workflow_version),
    ):
        if value is not None:
            clauses.append(f"{alias}.{column} = ?")
            params.append(value)
    if scope.teams is not None:
        clauses.append(
            f"{alias}.workflow_id IN (SELECT workflow_id FROM reviews "
            "WHERE team IS NULL OR list_contains(?, team))"
        )
        params.append(list(scope.teams))
    if at is not None:
        if scope.since is not None:
            clauses.append(f"{at} >= ?")
            params.append(scope.since)
        if scope.until is not None:
            clauses.append(f"{at} < ?")
            params.append(scope.until)
    return " AND ".join(clauses), params


class DuckDBAnalytics(DuckDBConnection):
    """The aggregates ``runtime.queries.analytics`` builds the dashboards from."""

    def decision_outcomes(self, scope: AnalyticsScope) -> list[dict[str, Any]]:
        """Settled reviews in the window per ``action, by_system, reason``: ``n``."""
        cond, params = scope_clause(scope, at="r.decided_at")
        return self._rows(
            "SELECT r.action, r.decided_by = 'system' AS by_system, r.reason, count(*) AS n "
            f"FROM reviews r WHERE r.status IN ('decided', 'expired') AND {cond} "
            "GROUP BY ALL ORDER BY n DESC, r.action, r.reason",
            params,
        )

    def decision_time_stats(self, scope: AnalyticsScope) -> dict[str, Any]:
        """People's decisions in the window: ``n, p50, p95, mean`` seconds to decide."""
        cond, params = scope_clause(scope, at="r.decided_at")
        row = self._cur().execute(
            f"SELECT count(*), quantile_cont(s, 0.5), quantile_cont(s, 0.95), avg(s) FROM "
            f"(SELECT {_SECONDS} AS s FROM reviews r WHERE {_PEOPLE} AND {cond})",
            params,
        )
        n, p50, p95, mean = row.fetchone()
        return {"n": n, "p50": p50, "p95": p95, "mean": mean}

    def backlog_ages(self, scope: AnalyticsScope, edges: Sequence[float]) -> list[dict[str, Any]]:
        """Reviews pending at ``scope.until`` per age bucket (see the contract)."""
        if scope.until is None:
            raise ValueError("backlog_ages needs scope.until: the time the backlog is taken at")
        pending = AnalyticsScope(**{**scope.__dict__, "since": None})
        cond, params = scope_clause(pending, at=None, reviewer="assignee")
        cases = " ".join(f"WHEN age < ? THEN {i}" for i in range(len(edges)))
        return self._rows(
            f"SELECT CASE {cases} ELSE {len(edges)} END AS bucket, count(*) AS n, "
            "max(age) AS oldest FROM (SELECT date_diff('millisecond', r.created_at, ?) "
            "/ 1000.0 AS age FROM reviews r WHERE r.created_at <= ? "
            f"AND (r.decided_at IS NULL OR r.decided_at > ?) AND {cond}) "
            "GROUP BY bucket ORDER BY bucket",
            [*edges, scope.until, scope.until, scope.until, *params],
        )

    def automation_series(
        self, scope: AnalyticsScope, bucket: Literal["hour", "day", "week"]
    ) -> list[dict[str, Any]]:
        """Runs finished in the window per period: ``period, finished, automated``."""
        if bucket not in _BUCKETS:
            raise ValueError(f"bucket must be one of {', '.join(_BUCKETS)}, not {bucket!r}")
        cond, params = _runs_clause(scope, "u", "u.finished_at")
        # A run's reviews were created after the run started: bound the reviews read by
        # the earliest start among the runs counted.
        first = self._cur().execute(
            f"SELECT min(u.created_at) FROM runs u WHERE u.finished_at IS NOT NULL AND {cond}",
            params,
        )
        start = first.fetchone()[0]
        if start is None:
            return []
        return self._rows(
            "SELECT date_trunc(?, u.finished_at) AS period, count(*) AS finished, "
            "count(*) FILTER (WHERE h.run_id IS NULL) AS automated FROM runs u "
            "LEFT JOIN (SELECT DISTINCT run_id FROM reviews WHERE created_at >= ?) h "
            f"ON h.run_id = u.id WHERE u.finished_at IS NOT NULL AND {cond} "
            "GROUP BY period ORDER BY period",
            [bucket, start, *params],
        )

    def escalation_counts(self, scope: AnalyticsScope) -> list[dict[str, Any]]:
        """Escalated reviews created in the window per ``team`` and ``source``."""
        cond, params = scope_clause(scope, at="r.created_at", reviewer=None)
        return self._rows(
            "SELECT r.team, CASE WHEN r.kind = 'escalation' THEN 'rule' "
            "WHEN o.decided_by = 'system' THEN 'deadline' ELSE 'reviewer' END AS source, "
            "count(*) AS n FROM reviews r LEFT JOIN reviews o ON o.id = r.escalated_from "
            f"WHERE (r.escalated_from IS NOT NULL OR r.kind = 'escalation') AND {cond} "
            "GROUP BY ALL ORDER BY n DESC, r.team, source",
            params,
        )

    def reviewer_throughput(self, scope: AnalyticsScope) -> list[dict[str, Any]]:
        """People's decisions in the window per reviewer, most decisions first."""
        cond, params = scope_clause(scope, at="r.decided_at")
        return self._rows(
            "SELECT r.decided_by AS reviewer, count(*) AS decisions, "
            f"count(*) FILTER (WHERE r.action IN {_APPROVE}) AS approved, "
            f"count(*) FILTER (WHERE r.action IN {_REJECT}) AS rejected, "
            "count(*) FILTER (WHERE r.action = 'edit') AS edited, "
            "count(*) FILTER (WHERE r.action = 'escalate') AS escalated, "
            f"quantile_cont({_SECONDS}, 0.5) AS median_seconds "
            f"FROM reviews r WHERE {_PEOPLE} AND {cond} "
            "GROUP BY r.decided_by ORDER BY decisions DESC, reviewer",
            params,
        )

    def choice_counts(self, scope: AnalyticsScope) -> list[dict[str, Any]]:
        """Options picked at choice checkpoints per workflow, node and option."""
        cond, params = scope_clause(scope, at="r.decided_at")
        return self._rows(
            "SELECT workflow_id, node_id, option, count(*) AS n FROM ("
            "SELECT r.workflow_id, r.node_id, unnest(CASE "
            "WHEN json_type(e.data->'option') = 'ARRAY' "
            "THEN CAST(e.data->'option' AS VARCHAR[]) "
            "ELSE [e.data->>'option'] END) AS option "
            "FROM reviews r JOIN audit_events e ON e.review_id = r.id "
            "AND e.kind IN ('review.decided', 'review.expired') "
            "AND e.data->>'action' = 'choose' "
            f"WHERE r.kind = 'choice' AND r.action = 'choose' AND {cond}) "
            "GROUP BY ALL ORDER BY workflow_id, node_id, n DESC, option",
            params,
        )

    def ai_judgments(self, scope: AnalyticsScope) -> dict[str, int]:
        """People's decisions on AI output in the window: ``judged, overridden``."""
        cond, params = scope_clause(scope, at="r.decided_at")
        row = self._cur().execute(
            "SELECT count(*), count(*) FILTER (WHERE coalesce(f.changed, false) "
            f"OR r.action IN {_REJECT}) FROM reviews r LEFT JOIN ({_CHANGED}) f "
            f"ON f.review_id = r.id WHERE {_PEOPLE} AND r.action <> 'escalate' "
            "AND (r.kind IN ('confidence_gate', 'feedback') OR f.review_id IS NOT NULL) "
            f"AND {cond}",
            [_floor(scope), *params],
        )
        judged, overridden = row.fetchone()
        return {"judged": judged, "overridden": overridden}

    def judged_confidences(self, scope: AnalyticsScope) -> list[dict[str, Any]]:
        """People's decisions on reviews showing a confidence, per ``milli, sampled``."""
        cond, params = scope_clause(scope, at="r.created_at")
        return self._rows(
            "SELECT least(1000, floor(c * 1000 + 1e-9))::INTEGER AS milli, sampled, count(*) AS n, "
            f"count(*) FILTER (WHERE coalesce(f.changed, false) OR r.action IN {_REJECT}) "
            "AS overridden, sum(c) AS confidence_sum FROM (SELECT r.id, r.action, "
            "TRY_CAST(r.display->>'confidence' AS DOUBLE) AS c, "
            "coalesce(TRY_CAST(r.display->>'sampled' AS BOOLEAN), false) AS sampled "
            f"FROM reviews r WHERE {_PEOPLE} AND r.action <> 'escalate' "
            f"AND r.kind = 'confidence_gate' AND {cond}) r "
            f"LEFT JOIN ({_CHANGED}) f ON f.review_id = r.id WHERE c IS NOT NULL "
            "GROUP BY ALL ORDER BY milli, sampled",
            [*params, _floor(scope)],
        )

    def gate_passes(self, scope: AnalyticsScope) -> list[dict[str, Any]]:
        """Items the gate ``scope.node_id`` passed with no review, per ``milli``: ``n``."""
        if scope.node_id is None:
            raise ValueError("gate_passes needs scope.node_id: the confidence gate")
        window, window_params = "", []
        for op, value in ((">=", scope.since), ("<", scope.until)):
            if value is not None:
                window += f" AND e.occurred_at {op} ?"
                window_params.append(value)
        select = (
            "SELECT least(1000, floor(c * 1000 + 1e-9))::INTEGER AS milli, count(*) AS n FROM "
            "(SELECT e.run_id, TRY_CAST(e.data->'output'->>'confidence' AS DOUBLE) AS c "
            "FROM audit_events e WHERE e.kind = 'step' AND e.node_id = ? "
            "AND e.data->>'branch' = 'pass' AND e.data->'output'->>'action' IS NULL"
            f"{window}) p "
        )
        if not self._needs_runs(scope):
            return self._rows(
                f"{select} WHERE c IS NOT NULL GROUP BY milli ORDER BY milli",
                [scope.node_id, *window_params],
            )
        cond, params = _runs_clause(scope, "u", None)
        return self._rows(
            f"{select} JOIN runs u ON u.id = p.run_id WHERE c IS NOT NULL AND {cond} "
            "GROUP BY milli ORDER BY milli",
            [scope.node_id, *window_params, *params],
        )

    def _needs_runs(self, scope: AnalyticsScope) -> bool:
        """Whether the gate's step events must be joined to their runs: for a version or
        the access rule, or when another workflow has a node of the same id (reading
        every event's run id is most of the cost on a large trail)."""
        if scope.workflow_version is not None or scope.teams is not None:
            return True
        if scope.workflow_id is None:
            return False
        row = self._cur().execute(
            "SELECT count(*) FROM workflows WHERE id <> ? AND "
            "list_contains(json_extract_string(spec, '$.nodes[*].id'), ?)",
            [scope.workflow_id, scope.node_id],
        )
        return (
            row.fetchone()[0] > 0
            or not self._cur()
            .execute("SELECT count(*) FROM workflows WHERE id = ?", [scope.workflow_id])
            .fetchone()[0]
        )

    def analytics_dimensions(self) -> dict[str, list[Any]]:
        """Workflows (id, version), nodes (workflow, node, kind), teams and reviewers."""
        cur = self._cur()
        workflows = cur.execute(
            "SELECT DISTINCT workflow_id, workflow_version FROM runs ORDER BY ALL"
        ).fetchall()
        nodes = cur.execute(
            "SELECT DISTINCT workflow_id, node_id, kind FROM reviews ORDER BY ALL"
        ).fetchall()
        teams = cur.execute(
            "SELECT DISTINCT team FROM reviews WHERE team IS NOT NULL ORDER BY team"
        ).fetchall()
        reviewers = cur.execute(
            "SELECT DISTINCT decided_by FROM reviews WHERE status = 'decided' "
            "AND decided_by <> 'system' ORDER BY decided_by"
        ).fetchall()
        return {
            "workflows": [tuple(r) for r in workflows],
            "nodes": [tuple(r) for r in nodes],
            "teams": [r[0] for r in teams],
            "reviewers": [r[0] for r in reviewers],
        }
