"""Builders of the domain records the conformance tests write."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from runtime.domain import Event, ReviewRecord, RunRecord, Settlement, WriteBatch

T0 = datetime(2026, 1, 5, 9, 0, 0)


def run(run_id: str, *, workflow_id: str = "wf", minute: int = 0, **fields: Any) -> RunRecord:
    """A new run waiting at ``check`` (created ``minute`` minutes after T0)."""
    at = T0 + timedelta(minutes=minute)
    values: dict[str, Any] = {
        "id": run_id,
        "workflow_id": workflow_id,
        "workflow_version": 1,
        "status": "waiting",
        "current_node": "check",
        "item": {"amount": 70, "who": "ada"},
        "steps": {"start": {"amount": 70}},
        "review": {"node": "check"},
        "visits": {"check": 1},
        "step_count": 2,
        "created_at": at,
        "updated_at": at,
        "started_by": "sam",
        "is_new": True,
    }
    values.update(fields)
    return RunRecord(**values)


def review(
    review_id: str,
    run_id: str,
    *,
    workflow_id: str = "wf",
    minute: int = 0,
    **fields: Any,
) -> ReviewRecord:
    """A pending review of ``run_id`` at ``check`` (created ``minute`` minutes after T0)."""
    values: dict[str, Any] = {
        "id": review_id,
        "run_id": run_id,
        "workflow_id": workflow_id,
        "workflow_version": 1,
        "node_id": "check",
        "kind": "approval",
        "team": "managers",
        "assignee": None,
        "priority": "normal",
        "instructions": "check it",
        "note": None,
        "reason_codes": ["too_high"],
        "actions": ["approve", "reject"],
        "form": [{"name": "amount", "type": "number"}],
        "display": {},
        "visits": 1,
        "deadline": None,
        "on_timeout": None,
        "escalate_to": None,
        "escalated_from": None,
        "created_at": T0 + timedelta(minutes=minute),
    }
    values.update(fields)
    return ReviewRecord(**values)


def waiting(store: Any, n: int = 1, *, prefix: str = "", **review_fields: Any) -> list[str]:
    """Commit ``n`` waiting runs with one pending review each; returns the review ids."""
    batch = WriteBatch()
    ids = []
    for i in range(n):
        run_id, review_id = f"run_{prefix}{i}", f"rev_{prefix}{i}"
        batch.runs[run_id] = run(run_id, minute=i)
        batch.reviews.append(review(review_id, run_id, minute=i, **review_fields))
        batch.events.append(Event(kind="review.requested", run_id=run_id, review_id=review_id))
        ids.append(review_id)
    store.commit(batch)
    return ids


def settlement(review_id: str, by: str = "mia", action: str = "approve") -> Settlement:
    """A decision on a review."""
    return Settlement(
        id=review_id, status="decided", decided_by=by, decided_at=T0, action=action, note="ok"
    )
