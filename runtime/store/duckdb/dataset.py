"""The SQL of the decisions dataset and of filtered audit searches (shared by the read model
and the exports; see docs/dataset.md for the dataset's columns)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from runtime.store.duckdb.rows import where

AUDIT_FILTERS = ("run_id", "review_id", "actor", "node_id", "kind", "text", "since", "until")
"""The filters an audit search takes (all optional)."""

DATASET_FILTERS = ("workflow_id", "since", "until")
"""The filters the decisions dataset takes (all optional)."""

# One row per settled review (decided, expired or cancelled). The feedback rows a decision
# yielded (corrections, or the AI outputs an approval or rejection judged) give ai_output
# and human_output keyed by field path or node; a decision without feedback rows gets the
# run's AI step outputs before the review (node -> output) and the data the person sent.
_DATASET_SELECT = """
WITH fb AS (
    SELECT review_id,
           arg_min(input, created_at) AS input,
           json_group_object(coalesce(path, node_id, checkpoint_id), ai_output) AS ai_output,
           json_group_object(coalesce(path, node_id, checkpoint_id), human_output)
               AS human_output,
           max(model) AS model,
           max(model_version) AS model_version,
           count(*) AS training_rows
    FROM feedback WHERE review_id IS NOT NULL GROUP BY review_id
),
ai AS (
    SELECT review_id, json_group_object(node_id, output) AS outputs,
           max(output->>'model') AS model, max(output->>'model_version') AS model_version
    FROM (
        SELECT r.id AS review_id, s.node_id, arg_max(s.output, s.seq) AS output
        FROM reviews r JOIN steps s ON s.run_id = r.run_id AND s.occurred_at <= r.created_at
        WHERE r.decided_at IS NOT NULL AND s.node_type LIKE 'ai\\_%' ESCAPE '\\'
        GROUP BY r.id, s.node_id
    ) GROUP BY review_id
)
SELECT r.decided_at, r.id AS review_id, r.run_id, r.workflow_id, r.workflow_version,
       r.node_id AS checkpoint, r.kind AS review_kind, r.status,
       CAST(coalesce(fb.input, u.item) AS JSON) AS input,
       CAST(coalesce(fb.ai_output, ai.outputs) AS JSON) AS ai_output,
       CAST(CASE WHEN fb.review_id IS NOT NULL THEN fb.human_output ELSE r.data END AS JSON)
           AS human_output,
       r.action AS decision, r.reason, r.decision_note AS note, r.rating,
       r.decided_by AS reviewer,
       coalesce(fb.model, ai.model) AS model,
       coalesce(fb.model_version, ai.model_version) AS model_version,
       coalesce(fb.training_rows, 0) AS training_rows,
       r.team, r.created_at AS requested_at,
       date_diff('millisecond', r.created_at, r.decided_at) / 1000.0 AS seconds_to_decision
FROM reviews r
LEFT JOIN runs u ON u.id = r.run_id
LEFT JOIN fb ON fb.review_id = r.id
LEFT JOIN ai ON ai.review_id = r.id
"""

DATASET_COLUMNS = (
    "decided_at",
    "review_id",
    "run_id",
    "workflow_id",
    "workflow_version",
    "checkpoint",
    "review_kind",
    "status",
    "input",
    "ai_output",
    "human_output",
    "decision",
    "reason",
    "note",
    "rating",
    "reviewer",
    "model",
    "model_version",
    "training_rows",
    "team",
    "requested_at",
    "seconds_to_decision",
)
"""The dataset's columns, in order (docs/dataset.md describes each)."""


def _unknown(filters: Mapping[str, Any], allowed: tuple[str, ...], what: str) -> None:
    extra = sorted(set(filters) - set(allowed))
    if extra:
        raise ValueError(f"{what} has no filter {', '.join(extra)}; use {', '.join(allowed)}")


def dataset_query(filters: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """The dataset's SELECT (oldest decision first) with ``filters`` bound.

    Args:
        filters: ``workflow_id``, ``since`` and ``until`` (on ``decided_at``; None: no bound).

    Returns:
        (SQL without LIMIT, its parameters).
    """
    _unknown(filters, DATASET_FILTERS, "the decisions dataset")
    clauses = ["r.decided_at IS NOT NULL"]
    params: list[Any] = []
    if filters.get("workflow_id") is not None:
        clauses.append("r.workflow_id = ?")
        params.append(filters["workflow_id"])
    _time_bounds(clauses, params, "r.decided_at", filters.get("since"), filters.get("until"))
    sql = f"{_DATASET_SELECT} WHERE {' AND '.join(clauses)} ORDER BY r.decided_at, r.id"
    return sql, params


def audit_clause(filters: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """The WHERE clause of an audit search.

    Args:
        filters: any of :data:`AUDIT_FILTERS`; ``text`` matches inside the event's data
            (case-insensitive), ``since``/``until`` bound ``occurred_at`` (inclusive,
            exclusive); None filters nothing.

    Returns:
        (``WHERE ...``, its parameters).
    """
    _unknown(filters, AUDIT_FILTERS, "an audit search")
    clause, params = where(
        run_id=filters.get("run_id"),
        review_id=filters.get("review_id"),
        actor=filters.get("actor"),
        node_id=filters.get("node_id"),
        kind=filters.get("kind"),
    )
    clauses = [clause.removeprefix("WHERE ")]
    _time_bounds(clauses, params, "occurred_at", filters.get("since"), filters.get("until"))
    text = filters.get("text")
    if text:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        clauses.append("CAST(data AS VARCHAR) ILIKE ? ESCAPE '\\'")
        params.append(f"%{escaped}%")
    return "WHERE " + " AND ".join(clauses), params


def _time_bounds(
    clauses: list[str],
    params: list[Any],
    column: str,
    since: datetime | None,
    until: datetime | None,
) -> None:
    if since is not None:
        clauses.append(f"{column} >= ?")
        params.append(since)
    if until is not None:
        clauses.append(f"{column} < ?")
        params.append(until)
