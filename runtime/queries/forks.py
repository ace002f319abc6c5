"""What the Runs page shows about forks: where a run may be forked (the checkpoints it
stopped at), the review a fork decides again, and the links between forked runs.

The same visibility rule as :func:`runtime.queries.runs.run_detail`: a run the user may
not see reads as one that does not exist. Forking itself is ``Engine.fork``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from runtime.access import User
from runtime.errors import NotFoundError
from runtime.queries.runs import may_see_run

if TYPE_CHECKING:
    from runtime.store.contract import Store


class ForkPoint(BaseModel):
    """A checkpoint a run stopped at, and whether a fork may start there.

    Attributes:
        review_id: the run's review at that stop.
        node_id: the checkpoint.
        kind: its node type.
        status: the review's status (``pending``, ``decided``, ...).
        action: what was decided there, if anything.
        decided_by: who decided it.
        created_at: when the run stopped there.
        forkable: whether the run's data at that stop is known (kept with the review, or
            the run waits there now).
        why: why not, when it is not forkable.
    """

    review_id: str
    node_id: str
    kind: str
    status: str
    action: str | None = None
    decided_by: str | None = None
    created_at: datetime
    forkable: bool
    why: str | None = None


class ForkLinks(BaseModel):
    """A run's fork relations.

    Attributes:
        origin: where it was forked from (``forked_from, node_id, review_id, original,
            decision, forked_by, forked_at``), None for a run that is no fork.
        forks: the runs forked from it, oldest first (rows as ``origin``, with ``run_id``).
    """

    origin: dict[str, Any] | None = None
    forks: list[dict[str, Any]] = []


def _visible_run(store: Store, user: User | None, run_id: str) -> dict[str, Any]:
    run = store.get_run(run_id)
    if not may_see_run(store, user, run):
        raise NotFoundError(f"run {run_id} does not exist in {store.path}")
    return run


def fork_points(store: Store, user: User | None, run_id: str) -> list[ForkPoint]:
    """The checkpoints a run stopped at, oldest first, each with whether a fork may start
    there.

    Args:
        store: the store.
        user: the signed-in user, or None for the local trusted caller.
        run_id: the run.

    Raises:
        NotFoundError: no such run, or one the user may not see.
    """
    run = _visible_run(store, user, run_id)
    kept = store.checkpoint_state_ids(run_id)
    out = []
    for r in store.run_reviews(run_id):
        waits_here = (
            r["status"] == "pending"
            and run["status"] == "waiting"
            and run["current_node"] == r["node_id"]
        )
        forkable = r["id"] in kept or waits_here
        out.append(
            ForkPoint(
                review_id=r["id"],
                node_id=r["node_id"],
                kind=r["kind"],
                status=r["status"],
                action=r["action"],
                decided_by=r["decided_by"],
                created_at=r["created_at"],
                forkable=forkable,
                why=None
                if forkable
                else "the run stopped here before Loopgate kept each checkpoint's data",
            )
        )
    return out


def fork_review(store: Store, user: User | None, run_id: str, review_id: str) -> dict[str, Any]:
    """The review a fork at this stop decides again, as the Review page shows a review: its
    ``context`` is the run's data when it stopped there (when kept).

    Raises:
        NotFoundError: no such run or review, the review is not the run's, or the user may
            not see the run.
    """
    _visible_run(store, user, run_id)
    review = store.get_review(review_id)
    if review["run_id"] != run_id:
        raise NotFoundError(f"review {review_id} is not a review of run {run_id}")
    state = store.checkpoint_state(review_id)
    if state is not None:
        review["context"] = {"item": state["item"], "steps": state["steps"]}
    return review


def fork_links(store: Store, user: User | None, run_id: str) -> ForkLinks:
    """Where a run was forked from and the runs forked from it.

    Raises:
        NotFoundError: no such run, or one the user may not see.
    """
    _visible_run(store, user, run_id)
    return ForkLinks(origin=store.fork_origin(run_id), forks=store.forks_of(run_id))
