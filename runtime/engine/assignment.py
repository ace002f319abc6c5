"""Claiming and releasing reviews ("assign to me", as in Camunda Tasklist)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any

from runtime import access
from runtime.domain import Event, WriteBatch
from runtime.engine.claims import ClaimCache
from runtime.engine.decisions import Decisions
from runtime.engine.delegation import delegated_event
from runtime.engine.users import UserAccess
from runtime.engine.working import EngineConfig
from runtime.errors import DecisionError, ReviewClaimedError
from runtime.store.contract import Store


class ReviewAssignment:
    """Who holds a pending review: claims, releases and an admin's reassignments.

    A claim sets the review's assignee to the claimer; a release clears it. Each change is
    checked with :mod:`runtime.access` (the claimer must be allowed to decide the review;
    see :func:`runtime.access.check_may_assign`) and written with its audit event
    (``review.claimed``, ``review.assigned`` or ``review.released``) in one unit of work.
    The write is a compare-and-set on the holder, so of two claims racing one wins and
    the other is refused naming the winner.

    Args:
        store: The store.
        config: The engine's tunables (its clock).
        users: The access checks.
        decisions: Checks who may decide a review (separation of duties included).
        claims: The claim cache (a changed review's claim is dropped from it).
    """

    def __init__(
        self,
        store: Store,
        config: EngineConfig,
        users: UserAccess,
        decisions: Decisions,
        claims: ClaimCache,
    ):
        self._store = store
        self._config = config
        self._users = users
        self._decisions = decisions
        self._claims = claims
        # Who holds a user's reviews now (an out-of-office delegation); set by the engine.
        self.delegate_of: Callable[[str, datetime], str | None] = lambda user, now: None

    def assign(self, review_id: str, assignee: str | None, *, by: str) -> dict[str, Any]:
        """Give a pending review to ``assignee`` (None: release it), acting as ``by``.

        Claiming a review one holds already, or releasing one nobody holds, changes
        nothing and writes no event.

        Returns:
            The review's row as :meth:`~runtime.store.contract.ReadModel.get_review`
            gives it, after the change.

        Raises:
            NotFoundError: no such review.
            ReviewNotPendingError: decided, expired or cancelled, or being decided now.
            AccessError: ``by`` may not decide the review, releases a review someone else
                holds, or (not an admin) assigns it to someone else; or ``assignee`` may
                not decide it.
            ReviewClaimedError: ``by`` claims a review someone else holds.
        """
        self._store.check_not_held(review_id)  # being decided right now
        claim = self._store.review_claim(review_id)  # fresh: the cache's holder may be old
        self._decisions.check_access(claim, by)
        holder = claim.assignee
        user = self._users.authorize_decider(by)
        access.check_may_assign(user, by, review_id=review_id, holder=holder, assignee=assignee)
        now = self._config.clock()
        delegated_for = None
        if assignee is not None and assignee != by:
            delegate = self.delegate_of(assignee, now)
            if delegate and delegate != by:  # out of office: the delegate gets it
                delegated_for, assignee = assignee, delegate
        if assignee is not None and assignee != by:
            # The new holder must be allowed to decide it on their own (team, role, duties).
            self._decisions.check_access(dataclasses.replace(claim, assignee=None), assignee)
        if assignee == holder:
            return self._store.get_review(review_id)
        kind = (
            "review.released"
            if assignee is None
            else "review.claimed"
            if assignee == by
            else "review.assigned"
        )
        event = Event(
            kind=kind,
            run_id=claim.run_id,
            review_id=review_id,
            node_id=claim.node_id,
            actor=by,
            at=now,
            data={"assignee": assignee, "previous": holder},
        )
        events = [event]
        if delegated_for:
            event.data["delegated_for"] = delegated_for
            events.append(
                delegated_event(
                    claim.run_id, review_id, claim.node_id, delegated_for, assignee, now
                )
            )
        with self._store.unit_of_work() as uow:
            changed = uow.assign_review(review_id, assignee, expected=holder)
            if changed:
                uow.mark_delegated(review_id, delegated_for)
                uow.write(WriteBatch(events=events))
        self._claims.forget([review_id])
        if not changed:  # someone else got there first: say who, or why it is gone
            now = self._store.review_claim(review_id)
            if now.assignee != assignee:
                if now.assignee is not None:
                    raise ReviewClaimedError(review_id, now.assignee)
                raise DecisionError(
                    f"review {review_id} was released while you changed it; try again "
                    "(nothing was changed)"
                )
        return self._store.get_review(review_id)
