"""Column lists and conversions between DuckDB rows and the records of runtime.domain."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from runtime.domain import RunRecord

RUN_COLUMNS = [
    "id",
    "workflow_id",
    "workflow_version",
    "status",
    "current_node",
    "item",
    "state",
    "step_count",
    "error",
    "result",
    "batch_id",
    "idempotency_key",
    "started_by",
    "created_at",
    "updated_at",
    "finished_at",
]
RUN_UPDATE_COLUMNS = [
    "id",
    "status",
    "current_node",
    "item",
    "state",
    "step_count",
    "error",
    "result",
    "updated_at",
    "finished_at",
]
REVIEW_COLUMNS = [
    "id",
    "run_id",
    "workflow_id",
    "workflow_version",
    "node_id",
    "kind",
    "status",
    "team",
    "assignee",
    "priority",
    "instructions",
    "note",
    "reason_codes",
    "actions",
    "form",
    "display",
    "visits",
    "deadline",
    "on_timeout",
    "escalate_to",
    "escalated_from",
    "created_at",
    "options",
    "escalation_step",
    "next_step_at",
    "due_at",
    "delegated_from",
]
EVENT_COLUMNS = [
    "seq",
    "occurred_at",
    "kind",
    "run_id",
    "review_id",
    "node_id",
    "actor",
    "data",
    "prev_hash",
    "hash",
]
OUTBOX_COLUMNS = [
    "id",
    "run_id",
    "node_id",
    "channel",
    "recipient",
    "subject",
    "body",
    "status",
    "attempts",
    "last_error",
    "idempotency_key",
    "created_at",
    "sent_at",
]
RECORD_COLUMNS = [
    "table_name",
    "key",
    "value",
    "deleted",
    "run_id",
    "node_id",
    "idempotency_key",
    "updated_at",
]
FEEDBACK_COLUMNS = [
    "id",
    "run_id",
    "review_id",
    "workflow_id",
    "checkpoint_id",
    "node_id",
    "path",
    "input",
    "ai_output",
    "human_output",
    "reviewer",
    "action",
    "reason",
    "note",
    "rating",
    "model",
    "model_version",
    "created_at",
]
CLAIM_COLUMNS = [
    "run_id",
    "workflow_id",
    "workflow_version",
    "node_id",
    "kind",
    "team",
    "reason_codes",
    "form",
    "actions",
    "visits",
    "created_at",
    "priority",
    "deadline",
    "options",
]
JSON_COLUMNS = {
    "item",
    "state",
    "form",
    "display",
    "context",
    "data",
    "spec",
    "input",
    "ai_output",
    "human_output",
    "value",
    "decision",
}


def utcnow() -> datetime:
    """The time now in UTC, naive (how every timestamp column stores it)."""
    return datetime.now(UTC).replace(tzinfo=None)


def dumps(value: Any) -> str:
    """Compact JSON for the store (dates as ISO text).

    Args:
        value: anything JSON can hold, plus datetimes, pydantic models, sets and tuples.

    Returns:
        The JSON text.
    """
    return _ENCODER.encode(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


# One encoder for every call (json.dumps with options builds a new one each time).
_ENCODER = json.JSONEncoder(separators=(",", ":"), default=_json_default, ensure_ascii=False)


def loads(text: str | None) -> Any:
    """JSON text from a column as Python (None stays None)."""
    return None if text is None else json.loads(text)


def cell(column: str, value: Any) -> Any:
    """A value as the column ``column`` stores it (JSON columns as text)."""
    if column == "model_version" and value is not None:
        return str(value)
    if column in JSON_COLUMNS and value is not None:
        return dumps(value)
    return value


def run_row(run: RunRecord, columns: list[str]) -> list[Any]:
    """A run's cells in ``columns`` order (``state`` is what resuming it needs)."""
    return [cell(c, run.resume_state() if c == "state" else getattr(run, c)) for c in columns]


def run_record(row: dict[str, Any]) -> RunRecord:
    """A run row (all of RUN_COLUMNS) as the engine works on it."""
    state = loads(row["state"]) if isinstance(row["state"], str) else row["state"]
    state = state or {}
    item = row["item"]
    return RunRecord(
        id=row["id"],
        workflow_id=row["workflow_id"],
        workflow_version=row["workflow_version"],
        status=row["status"],
        current_node=row["current_node"],
        item=loads(item) if isinstance(item, str) else item,
        steps=state.get("steps", {}),
        review=state.get("review"),
        visits=state.get("visits", {}),
        step_count=row["step_count"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        error=row["error"],
        result=row["result"],
        batch_id=row["batch_id"],
        idempotency_key=row["idempotency_key"],
        started_by=row["started_by"],
        finished_at=row["finished_at"],
    )


def where(**filters: Any) -> tuple[str, list[Any]]:
    """A WHERE clause of ``column = ?`` for each filter that is not None, and its params.

    The column names are the keyword names (constants in this package); values are bound.
    """
    clauses, params = [], []
    for column, value in filters.items():
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "WHERE true", params
