"""Who may act: the engine's user cache and its role and team checks."""

from __future__ import annotations

from typing import Any

from runtime.domain import Claim
from runtime.errors import AccessError
from runtime.store.contract import Catalog


class UserAccess:
    """Users as the engine sees them (cached by name) and the checks on what they may do.

    The rules live here, not in the UI: :meth:`authorize` for an action by role (and
    team), :meth:`check_may_decide` for deciding one review.

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
        user = self.user(by)
        if user is None:
            raise AccessError(
                f"unknown user {by!r}; add them with `loopgate users add {by} --role reviewer "
                "--team TEAM`"
            )
        if user["disabled"]:
            raise AccessError(f"user {by} is disabled")
        user_roles = set(user["roles"])
        if "admin" in user_roles:
            return user
        if not user_roles.intersection(roles):
            raise AccessError(f"user {by} may not {what} (needs role {' or '.join(roles)})")
        if team and team not in user["teams"]:
            teams = ", ".join(user["teams"]) or "none"
            raise AccessError(f"user {by} may not {what} for team {team} (their teams: {teams})")
        return user

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
        roles = set(user["roles"])
        if "admin" in roles:
            return
        if "reviewer" not in roles:
            if claim.run.started_by == by:
                return
            raise AccessError(f"user {by} may not decide review {claim.id} (not a reviewer)")
        team = claim.team
        if team and team not in user["teams"]:
            raise AccessError(
                f"user {by} may not decide review {claim.id}: it belongs to team {team}, "
                f"and {by} is in {', '.join(user['teams']) or 'no team'}"
            )
