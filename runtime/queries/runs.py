"""Runs and run detail, as far as a user may see them.

A run row in a list is the dict ``Store.list_runs`` returns: ``id, workflow_id,
workflow_version, status, current_node, step_count, error, result, created_at, updated_at,
finished_at``. A run in detail is every column of the runs table (also ``item``, ``state``,
``batch_id``, ``idempotency_key``, ``started_by``).

Who sees which runs (see :mod:`runtime.access`): admins and auditors every run; anyone
else the runs of workflows whose reviews they may see (a review of that workflow, in any
status, whose team is one of theirs or has no team, or that is assigned to them), plus the
runs they started themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from runtime import access
from runtime.access import User
from runtime.errors import NotFoundError

if TYPE_CHECKING:
    from runtime.store.contract import Store


class RunDetail(BaseModel):
    """One run with its history.

    Attributes:
        run: the run's row (every column of the runs table).
        events: its audit events in order (``seq, occurred_at, kind, review_id, node_id,
            actor, data``): its steps, reviews and decisions.
        pending_review: the review it waits for (``id, node_id, team``), if any.
    """

    run: dict[str, Any]
    events: list[dict[str, Any]]
    pending_review: dict[str, Any] | None = None


def list_runs(
    store: Store,
    user: User | None,
    *,
    status: str | None = None,
    workflow_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The runs a user may see, newest first.

    Args:
        store: the store.
        user: the signed-in user, or None for the local trusted caller (every run).
        status: only runs with this status.
        workflow_id: only this workflow's runs.
        limit: the page size.
        offset: how many runs to skip.

    Returns:
        Run rows (see the module docstring).
    """
    if user is None or access.sees_all_runs(user):
        return store.list_runs(status=status, workflow_id=workflow_id, limit=limit, offset=offset)
    return store.list_runs(
        status=status,
        workflow_id=workflow_id,
        limit=limit,
        offset=offset,
        teams=list(user["teams"]),
        user=user["name"],
    )


def run_counts(store: Store, user: User | None) -> dict[str, int]:
    """How many runs a user may see, per status.

    Args:
        store: the store.
        user: the signed-in user, or None for the local trusted caller (every run).

    Returns:
        Status -> count (statuses with no run left out).
    """
    if user is None or access.sees_all_runs(user):
        return store.count_runs()
    return store.count_runs(teams=list(user["teams"]), user=user["name"])


def may_see_run(store: Store, user: User | None, run: dict[str, Any]) -> bool:
    """Whether a user may see a run (the rule in the module docstring).

    Args:
        store: the store.
        user: the signed-in user, or None for the local trusted caller.
        run: the run's row (needs ``workflow_id`` and ``started_by``).

    Returns:
        True if the user may see it.
    """
    if user is None or access.sees_all_runs(user) or run.get("started_by") == user["name"]:
        return True
    return store.workflow_has_visible_review(
        run["workflow_id"], teams=list(user["teams"]), user=user["name"]
    )


def run_detail(store: Store, user: User | None, run_id: str) -> RunDetail:
    """One run with its audit events and the review it waits for.

    Args:
        store: the store.
        user: the signed-in user, or None for the local trusted caller.
        run_id: the run.

    Returns:
        The run's detail.

    Raises:
        NotFoundError: no such run, or one the user may not see (the same message: a
            run's existence is not revealed).
    """
    run = store.get_run(run_id)
    if not may_see_run(store, user, run):
        # The store's own message for a missing run, so that both read the same.
        raise NotFoundError(f"run {run_id} does not exist in {store.path}")
    return RunDetail(
        run=run,
        events=store.run_events(run_id),
        pending_review=store.pending_review_for_run(run_id),
    )
