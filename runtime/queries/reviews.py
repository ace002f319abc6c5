"""The review queue: pending reviews a user may see, filtered, paged and counted.

A review row is the dict ``Store.list_pending_reviews`` returns: ``id, run_id,
workflow_id, workflow_version, node_id, kind, team, assignee, priority, instructions, note,
reason_codes, actions, form, display, visits, deadline, on_timeout, created_at,
escalated_from, options`` and ``context`` (the run's ``item`` and each step's output, ``steps``).

Who sees what (see :mod:`runtime.access`): admins and auditors every review; anyone else
the reviews of their teams and those with no team. One review opened by id
(:func:`get_review`) is also visible to the user it is assigned to and to the user who
started its run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from runtime import access
from runtime.access import User
from runtime.errors import NotFoundError

if TYPE_CHECKING:
    from runtime.store.contract import Store

NO_TEAM = ""
"""The key under which :attr:`ReviewQueue.by_team` counts the reviews with no team."""

UNASSIGNED = ""
"""The ``assignee`` filter that keeps only the reviews nobody holds (claimed by no one)."""


class ReviewQueue(BaseModel):
    """One page of a user's review queue, with the counts a queue view shows.

    Each ``by_*`` count leaves its own filter out (so it says how many each choice of that
    filter would give) and applies every other one.

    Attributes:
        items: the page's reviews, most urgent and oldest first (rows as described in
            this module's docstring).
        total: how many reviews match every filter (all pages).
        by_team: per team (:data:`NO_TEAM` for the reviews with no team).
        by_workflow: per workflow id.
        by_node: per checkpoint node id.
        by_priority: per priority.
        by_assignee: per assignee (:data:`NO_ASSIGNEE` for the unassigned ones).
        limit: the page size asked for.
        offset: how many matching reviews come before this page.
    """

    items: list[dict[str, Any]]
    total: int
    by_team: dict[str, int] = Field(default_factory=dict)
    by_workflow: dict[str, int] = Field(default_factory=dict)
    by_node: dict[str, int] = Field(default_factory=dict)
    by_priority: dict[str, int] = Field(default_factory=dict)
    by_assignee: dict[str, int] = Field(default_factory=dict)
    limit: int
    offset: int


NO_ASSIGNEE = ""
"""The key under which :attr:`ReviewQueue.by_assignee` counts the unassigned reviews."""

MAX_PAGE = 500
"""The largest page :func:`review_queue` returns (a bigger ``limit`` is cut to it)."""


def _teams(user: User | None) -> list[str] | None:
    return None if user is None else access.review_teams(user)


def _viewer(user: User | None) -> str | None:
    """Whose assigned reviews show whatever their team (a review assigned outside the
    assignee's teams still belongs on their queue)."""
    return None if user is None else user["name"]


def pending_reviews(
    store: Store,
    user: User | None,
    *,
    team: str | None = None,
    workflow_id: str | None = None,
    node_id: str | None = None,
    priority: str | None = None,
    assignee: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """One page of the pending reviews a user may see, most urgent and oldest first.

    Args:
        store: the store.
        user: the signed-in user, or None for the local trusted caller (every review).
        team: only this team's reviews.
        workflow_id: only this workflow's reviews.
        node_id: only the reviews of this checkpoint node.
        priority: only reviews of this priority (urgent, high, normal, low).
        assignee: only reviews assigned to (claimed by) this user; :data:`UNASSIGNED`:
            only those nobody holds.
        limit: the page size.
        offset: how many reviews to skip.

    Returns:
        Review rows (see the module docstring), with their run's context.
    """
    return store.list_pending_reviews(
        team=team,
        teams=_teams(user),
        viewer=_viewer(user),
        workflow_id=workflow_id,
        node_id=node_id,
        assignee=assignee,
        priority=priority,
        limit=limit,
        offset=offset,
    )


def review_queue(
    store: Store,
    user: User | None,
    *,
    team: str | None = None,
    workflow_id: str | None = None,
    node_id: str | None = None,
    priority: str | None = None,
    assignee: str | None = None,
    unassigned: bool = False,
    older_than: timedelta | None = None,
    now: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> ReviewQueue:
    """A page of the review queue with its total and its counts per filter.

    Args:
        store: the store.
        user: the signed-in user, or None for the local trusted caller (every review).
        team: only this team's reviews.
        workflow_id: only this workflow's reviews.
        node_id: only the reviews of this checkpoint node.
        priority: only reviews of this priority.
        assignee: only reviews assigned to (claimed by) this user; :data:`UNASSIGNED`:
            only those nobody holds (as ``unassigned``).
        unassigned: only reviews assigned to nobody (``assignee`` is then ignored).
        older_than: only reviews waiting longer than this.
        now: the time ``older_than`` counts back from (naive UTC; default: now).
        limit: the page size (1 to :data:`MAX_PAGE`).
        offset: how many reviews to skip (0 or more).

    Returns:
        The page and its counts (see :class:`ReviewQueue`).
    """
    teams = _teams(user)
    viewer = _viewer(user)
    limit = max(1, min(limit, MAX_PAGE))
    offset = max(0, offset)
    created_before = None
    if older_than is not None:
        created_before = (now or datetime.now(UTC).replace(tzinfo=None)) - older_than
    filters: dict[str, Any] = {
        "team": team,
        "workflow_id": workflow_id,
        "node_id": node_id,
        "priority": priority,
        "assignee": None if unassigned else assignee,
    }
    extra = {"unassigned": unassigned, "created_before": created_before}
    items = store.list_pending_reviews(
        teams=teams, viewer=viewer, **filters, **extra, limit=limit, offset=offset
    )

    def counts(column: str, leave_out: str) -> dict[str, int]:
        rows = store.count_pending_reviews_by(
            column,  # type: ignore[arg-type]
            teams=teams,
            viewer=viewer,
            **{**filters, leave_out: None},
            **({**extra, "unassigned": False} if leave_out == "assignee" else extra),
        )
        return {("" if k is None else k): n for k, n in sorted(rows.items(), key=_key)}

    return ReviewQueue(
        items=items,
        total=store.count_pending_reviews(teams=teams, viewer=viewer, **filters, **extra),
        by_team=counts("team", "team"),
        by_workflow=counts("workflow_id", "workflow_id"),
        by_node=counts("node_id", "node_id"),
        by_priority=counts("priority", "priority"),
        by_assignee=counts("assignee", "assignee"),
        limit=limit,
        offset=offset,
    )


def _key(pair: tuple[str | None, int]) -> str:
    return pair[0] or ""


def count_pending_reviews(store: Store, user: User | None) -> int:
    """How many pending reviews a user may see (not counting those being decided now).

    Args:
        store: the store.
        user: the signed-in user, or None for every pending review.

    Returns:
        The count.
    """
    if user is None:
        return store.count_pending_reviews()
    return store.count_pending_reviews(teams=_teams(user), viewer=_viewer(user))


def get_review(store: Store, user: User | None, review_id: str) -> dict[str, Any]:
    """One review, in any status, with its run's context, if the user may see it.

    Args:
        store: the store.
        user: the signed-in user, or None for the local trusted caller.
        review_id: the review.

    Returns:
        The review's row (every column of the reviews table, plus ``context`` and
        ``editable_schema``, see :func:`editable_schema`).

    Raises:
        NotFoundError: no such review, or one the user may not see (the same message:
            a review's existence is not revealed).
    """
    review = store.get_review(review_id)
    review["editable_schema"] = editable_schema(review)
    if user is None or access.may_see_review(user, team=review["team"]):
        return review
    started_by = store.get_run(review["run_id"]).get("started_by")
    if access.may_see_review(
        user, team=review["team"], assignee=review["assignee"], started_by=started_by
    ):
        return review
    # The store's own message for a missing review, so that both read the same.
    raise NotFoundError(
        f"review {review_id} does not exist; list pending ones with `loopgate reviews`"
    )


def editable_schema(review: dict[str, Any]) -> list[dict[str, Any]]:
    """The fields a person may set on a review, as a form renders them.

    An ``edit`` review's fields are the values a reviewer may correct (at a confidence gate,
    without ``editable`` listed: the classifier's label or the extractor's unsure fields); a
    ``submit`` review's (human input) are the form to fill. Other reviews have none.

    Args:
        review: a review row (its ``form`` and ``actions``).

    Returns:
        One dict per field: ``name`` (the path the decision's data uses), ``type``
        (string, number, integer, boolean, text or select), ``current`` (the value now),
        and when set ``options`` (a label's choices: the model's labels), ``label`` and
        ``required``.
    """
    actions = review.get("actions") or []
    if "edit" not in actions and "submit" not in actions:
        return []
    out = []
    for f in review.get("form") or []:
        field: dict[str, Any] = {
            "name": f["name"],
            "type": f.get("type") or "string",
            "current": f.get("value"),
        }
        if f.get("options"):
            field["options"] = list(f["options"])
        if f.get("label"):
            field["label"] = f["label"]
        if f.get("required"):
            field["required"] = True
        out.append(field)
    return out


def escalation_teams(store: Store) -> list[str]:
    """The teams a review may be escalated to: those with at least one enabled reviewer
    or admin in them (a team nobody is in would leave the review on no one's queue).

    Args:
        store: the store.

    Returns:
        Team names, sorted.
    """
    return sorted(
        {
            team
            for u in store.list_users()
            if not u["disabled"] and {"reviewer", "admin"}.intersection(u["roles"])
            for team in u["teams"]
        }
    )
