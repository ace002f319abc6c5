"""Two reads the store does not offer yet, through ``Store.execute_readonly``.

They belong in the store contract (issue 10): ``count_pending_reviews`` with the filters of
``list_pending_reviews`` and a group-by, and "has this workflow a review this user may
see". Until the store grows them, they live here, the only SQL in :mod:`runtime.queries`;
move them into the store and delete this module. ``execute_readonly`` is not part of
``runtime.store.contract``: these work on the DuckDB store only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from runtime.store import Store

GroupBy = Literal["team", "workflow_id"]
_FILTERS = ("team", "workflow_id", "node_id", "assignee", "priority")


def _pending_where(
    store: Store, teams: list[str] | None, filters: dict[str, Any]
) -> tuple[str, list[Any]]:
    """The WHERE clause of ``Store.list_pending_reviews`` (held reviews left out)."""
    clauses = ["status = 'pending'", "NOT list_contains(?, id)"]
    params: list[Any] = [store.held_review_ids()]
    for column, value in filters.items():
        if column not in _FILTERS:
            raise ValueError(f"no review filter {column!r}")
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if teams is not None:
        clauses.append("(team IS NULL OR list_contains(?, team))")
        params.append(teams)
    return " AND ".join(clauses), params


def count_pending_reviews(store: Store, *, teams: list[str] | None, filters: dict[str, Any]) -> int:
    """Count pending reviews as ``Store.list_pending_reviews`` filters them.

    Args:
        store: the store.
        teams: the visibility filter (reviews of these teams or with no team); None: all.
        filters: column -> value equality filters (team, workflow_id, node_id, assignee,
            priority); None values filter nothing.

    Returns:
        How many pending reviews match.
    """
    where, params = _pending_where(store, teams, filters)
    sql = f"SELECT count(*) AS n FROM reviews WHERE {where}"  # noqa: S608 - constant SQL
    return store.execute_readonly(sql, params)[0]["n"]


def count_pending_reviews_by(
    store: Store, group_by: GroupBy, *, teams: list[str] | None, filters: dict[str, Any]
) -> dict[str | None, int]:
    """Count pending reviews per team or per workflow, filtered as in
    :func:`count_pending_reviews`.

    Args:
        store: the store.
        group_by: ``team`` or ``workflow_id``.
        teams: the visibility filter; None: all.
        filters: as in :func:`count_pending_reviews`.

    Returns:
        Counts by value (None: the reviews with no team), only values with reviews.
    """
    if group_by not in ("team", "workflow_id"):
        raise ValueError(f"cannot group reviews by {group_by!r}")
    where, params = _pending_where(store, teams, filters)
    rows = store.execute_readonly(
        f"SELECT {group_by} AS k, count(*) AS n FROM reviews "  # noqa: S608 - constant SQL
        f"WHERE {where} GROUP BY {group_by}",
        params,
    )
    return {r["k"]: r["n"] for r in rows}


def workflow_has_visible_review(
    store: Store, workflow_id: str, *, teams: list[str], user: str
) -> bool:
    """Whether a workflow has a review (any status) of one of ``teams``, with no team, or
    assigned to ``user``: the rule that makes its runs visible (see ``Store.list_runs``).

    Args:
        store: the store.
        workflow_id: the workflow.
        teams: the user's teams.
        user: the user's name.

    Returns:
        True if such a review exists.
    """
    rows = store.execute_readonly(
        "SELECT 1 AS hit FROM reviews WHERE workflow_id = ? "
        "AND (team IS NULL OR list_contains(?, team) OR assignee = ?) LIMIT 1",
        [workflow_id, teams, user],
    )
    return bool(rows)
