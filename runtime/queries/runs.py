"""Runs and run detail, as far as a user may see them.

A run row in a list is the dict ``Store.list_runs`` returns: ``id, workflow_id,
workflow_version, status, current_node, step_count, error, result, batch_id, started_by,
created_at, updated_at, finished_at``. A run in detail is every column of the runs table
(also ``item``, ``state``, ``idempotency_key``).

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
from runtime.queries.window import WindowFilter

if TYPE_CHECKING:
    from runtime.store.contract import Store


class RunDetail(BaseModel):
    """One run with its history.

    Attributes:
        run: the run's row (every column of the runs table).
        events: its audit events in order (``seq, occurred_at, kind, review_id, node_id,
            actor, data``): its steps, reviews and decisions.
        pending_review: the review it waits for (``id, node_id, team``), if any.
        reviews: its reviews in any status, oldest first, with their decisions (``id,
            node_id, kind, status, team, decided_by, action, data, reason, ...``).
        corrections: the training rows its decisions yielded (the feedback table: ``path,
            ai_output, human_output, reviewer, action, ...``), oldest first.
        outputs: each node's latest output (from its step events).
        errors: what went wrong, oldest first: each ``run.failed`` event's time, node and
            error (a retried run keeps the errors it had).
    """

    run: dict[str, Any]
    events: list[dict[str, Any]]
    pending_review: dict[str, Any] | None = None
    reviews: list[dict[str, Any]] = []
    corrections: list[dict[str, Any]] = []
    outputs: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []


class RunFilter(WindowFilter):
    """The filters of a run list (None: no filter).

    Attributes:
        status: only runs in this status.
        workflow_id: only this workflow's runs.
        workflow_version: only runs of this version (with ``workflow_id``).
        batch_id: only the runs of this batch.
        since: only runs created at or after this time (UTC).
        until: only runs created before this time (UTC).
    """

    status: str | None = None
    workflow_id: str | None = None
    workflow_version: int | None = None
    batch_id: str | None = None


class RunPage(BaseModel):
    """One page of a run list.

    Attributes:
        runs: run rows, newest first.
        offset: how many runs come before this page.
        more: whether another page follows.
    """

    runs: list[dict[str, Any]]
    offset: int
    more: bool


MAX_PAGE = 500
"""The most runs one page lists."""


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
    return _list(store, user, {"status": status, "workflow_id": workflow_id}, limit, offset)


def _list(
    store: Store, user: User | None, filters: dict[str, Any], limit: int, offset: int
) -> list[dict[str, Any]]:
    if user is None or access.sees_all_runs(user):
        return store.list_runs(**filters, limit=limit, offset=offset)
    return store.list_runs(
        **filters, limit=limit, offset=offset, teams=list(user["teams"]), user=user["name"]
    )


def find_runs(
    store: Store, user: User | None, filters: RunFilter, *, page_size: int = 50, offset: int = 0
) -> RunPage:
    """One page of the runs a user may see, newest first, filtered (the page size is
    capped at :data:`MAX_PAGE`).

    Args:
        store: the store.
        user: the signed-in user, or None for the local trusted caller (every run).
        filters: status, workflow, version, batch and time window.
        page_size: runs per page (1 to :data:`MAX_PAGE`).
        offset: how many runs come before the page.

    Returns:
        The page, and whether another follows.

    Raises:
        ValueError: the time window ends before it starts.
    """
    if problem := filters.problem():
        raise ValueError(problem)
    size = max(1, min(page_size, MAX_PAGE))
    offset = max(0, offset)
    rows = _list(store, user, filters.filters(), size + 1, offset)
    return RunPage(runs=rows[:size], offset=offset, more=len(rows) > size)


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
    events = store.run_events(run_id)
    outputs: dict[str, Any] = {}
    errors = []
    for ev in events:
        data = ev["data"] or {}
        if ev["kind"] in ("step", "audit") and ev["node_id"]:
            outputs[ev["node_id"]] = data.get("output")
        elif ev["kind"] == "run.failed":
            errors.append(
                {"at": ev["occurred_at"], "node_id": ev["node_id"], "error": data.get("error")}
            )
    return RunDetail(
        run=run,
        events=events,
        pending_review=store.pending_review_for_run(run_id),
        reviews=store.run_reviews(run_id),
        corrections=store.list_feedback(run_id=run_id),
        outputs=outputs,
        errors=errors,
    )
