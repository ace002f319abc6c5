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
    :meth:`authorize_decider` and :meth:`check_may_decide` for deciding reviews.

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

    def authorize_decider(self, by: str) -> dict[str, Any]:
        """Check ``by`` may decide reviews at all (reviewer or admin; not ``system``).

        Raises:
            AccessError: unknown, disabled, reserved, or neither reviewer nor admin.
        """
        return access.authorize_decider(self.user(by), by)

    def check_may_decide(self, by: str, claim: Claim, *, allow_self_approval: bool) -> None:
        """Check ``by`` may decide this review (:func:`runtime.access.check_may_decide`).

        The run's starter may not, unless the checkpoint allows self-approval; others need
        the reviewer role and the review's team or assignment (or an admin's role).

        Raises:
            AccessError: naming the user, the review and why.
        """
        access.check_may_decide(
            self.user(by),
            by,
            review_id=claim.id,
            node_id=claim.node_id,
            run_id=claim.run_id,
            team=claim.team,
            assignee=claim.assignee,
            started_by=claim.run.started_by,
            allow_self_approval=allow_self_approval,
        )
