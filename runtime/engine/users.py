"""Who may act: the engine's user cache and its role and team checks."""

from __future__ import annotations

from typing import Any

from runtime import access
from runtime.domain import Claim
from runtime.store.contract import Catalog


class UserAccess:
    """Users as the engine sees them (cached by name) and the checks on what they may do.

    The rules themselves are :mod:`runtime.access` (one place for engine, queries, CLI,
    API and pages): :meth:`authorize` for an action by role (and team),
    :meth:`check_may_decide` for deciding one review.

    Args:
        store: Where users are read from.
    """

    def __init__(self, store: Catalog):
        self._store = store
        self._users: dict[str, dict[str, Any] | None] = {}

    def user(self, name: str) -> dict[str, Any] | None:
        """A user (cached), or None when there is no such user."""
        if name not in self._users:
            self._users[name] = self._store.get_user(name)
        return self._users[name]

    def forget(self) -> None:
        """Drop cached users (call after changing users)."""
        self._users.clear()

    def authorize(
        self, by: str, *, roles: tuple[str, ...], what: str, team: str | None = None
    ) -> dict[str, Any]:
        """Check a user may act: admins may do anything, others need one of ``roles``
        (and ``team`` among theirs when given).

        Returns:
            The user.

        Raises:
            AccessError: unknown or disabled user, wrong role or team.
        """
        return access.authorize(self.user(by), by, roles=roles, what=what, team=team)

    def check_may_decide(self, by: str, claim: Claim) -> None:
        """Check ``by`` (already authorized to decide reviews) may decide this one.

        Admins may decide any review; reviewers those of their teams (or with no team);
        anyone else only the reviews of runs they started (a designer following a test
        run to its end).

        Raises:
            AccessError: not a reviewer of the review's team.
        """
        user = self.user(by)
        assert user is not None
        access.check_may_decide(
            user, review_id=claim.id, team=claim.team, started_by=claim.run.started_by
        )
