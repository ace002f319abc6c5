"""Who may act: the engine's user cache and its role and team checks."""

from __future__ import annotations

import threading
from typing import Any

from runtime import access
from runtime.domain import Claim
from runtime.store.contract import Catalog


class UserAccess:
    """Users as the engine sees them (cached by name) and the checks on what they may do.

    The cache holds users read since the store last committed a write
    (:meth:`~runtime.store.contract.Catalog.data_version`): any write, a user added,
    disabled or given a new role by the admin page, the CLI or another engine on the same
    file among them, empties it, so a new user is seen and a disabled one refused at
    once, without a restart. A name that is not found is not cached: it is read again.
    Between writes (a bulk decision checking one reviewer for many reviews) a user is read
    once.

    The rules themselves are :mod:`runtime.access` (one place for engine, queries, CLI,
    API and pages): :meth:`authorize` for an action by role (and team),
    :meth:`authorize_decider` and :meth:`check_may_decide` for deciding reviews.

    Args:
        store: Where users are read from.
    """

    def __init__(self, store: Catalog):
        self._store = store
        self._users: dict[str, dict[str, Any]] = {}
        self._version: int | None = None
        self._lock = threading.Lock()

    def user(self, name: str) -> dict[str, Any] | None:
        """A user (cached until the store's next write), or None when there is none."""
        version = self._store.data_version()
        with self._lock:
            if version != self._version:
                self._users.clear()
                self._version = version
            cached = self._users.get(name)
        if cached is not None:
            return cached
        found = self._store.get_user(name)
        if found is not None:
            with self._lock:
                if self._version == version:  # no write came in between
                    self._users[name] = found
        return found

    def forget(self) -> None:
        """Drop cached users (the next look-up of each reads the store)."""
        with self._lock:
            self._users.clear()
            self._version = None

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
