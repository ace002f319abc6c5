"""Out-of-office delegation: a reviewer's reviews go to a delegate for a time window."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from runtime import access
from runtime.domain import Event, WriteBatch
from runtime.engine.users import UserAccess
from runtime.engine.working import EngineConfig
from runtime.errors import AccessError, LoopgateError
from runtime.store.contract import Store


def delegated_event(
    run_id: str, review_id: str, node_id: str, user: str, delegate: str, at: datetime
) -> Event:
    """The audit event of a review that went to ``delegate`` for ``user``."""
    return Event(
        kind="review.delegated",
        run_id=run_id,
        review_id=review_id,
        node_id=node_id,
        actor="system",
        at=at,
        data={"for": user, "delegate": delegate},
    )


class Delegations:
    """Sets, clears and answers delegations (who holds a user's reviews now).

    A review assigned to a user with a delegation whose window holds the time goes to
    the delegate, when it is created, reassigned by an escalation step or assigned by an
    admin; the review records ``delegated_from`` and a ``review.delegated`` event names
    both. A delegation's delegate is checked when it is set
    (:func:`runtime.access.check_may_delegate`) and again when it is used: a delegate who
    lost the right to decide (disabled, moved team) is skipped.

    Args:
        store: The store.
        config: The engine's tunables (its clock).
        users: The access checks.
    """

    def __init__(self, store: Store, config: EngineConfig, users: UserAccess):
        self._store = store
        self._config = config
        self._users = users
        self._lock = threading.Lock()
        # The delegations as read at a data version of the store (any write re-reads).
        self._cache: tuple[int, dict[str, dict[str, Any]]] | None = None

    def set(
        self,
        user: str,
        to: str,
        starts_at: datetime,
        ends_at: datetime,
        *,
        by: str,
        note: str | None = None,
    ) -> dict[str, Any]:
        """Hand ``user``'s reviews to ``to`` from ``starts_at`` until ``ends_at`` (UTC).

        Returns:
            The delegation as :meth:`list` gives it.

        Raises:
            AccessError: ``by`` may not, or ``to`` could not decide ``user``'s reviews.
            LoopgateError: the window is empty.
        """
        actor = self._users.authorize_decider(by)
        access.check_may_delegate(actor, by, self._users.user(user), user, self._users.user(to), to)
        if ends_at <= starts_at:
            raise LoopgateError(
                f"--until {ends_at:%Y-%m-%d %H:%M} is not after --from "
                f"{starts_at:%Y-%m-%d %H:%M}; give a window that ends after it starts"
            )
        now = self._config.clock()
        event = Event(
            kind="delegation.set",
            actor=by,
            at=now,
            data={
                "user": user,
                "delegate": to,
                "from": starts_at.isoformat(),
                "until": ends_at.isoformat(),
                **({"note": note} if note else {}),
            },
        )
        self._store.set_delegation(
            user, to, starts_at, ends_at, note=note, by=by, at=now, batch=WriteBatch(events=[event])
        )
        self.forget()
        return self.get(user) or {}

    def clear(self, user: str, *, by: str) -> bool:
        """End ``user``'s delegation; False when there was none.

        Raises:
            AccessError: ``by`` is neither ``user`` nor an admin.
        """
        actor = self._users.user(by)
        if actor is None or (by != user and "admin" not in actor["roles"]):
            raise AccessError(
                f"user {by} may not clear {user}'s delegation: only {user} or an admin may"
            )
        event = Event(
            kind="delegation.cleared", actor=by, at=self._config.clock(), data={"user": user}
        )
        cleared = self._store.clear_delegation(user, batch=WriteBatch(events=[event]))
        self.forget()
        return cleared

    def list(self) -> list[dict[str, Any]]:
        """Every delegation, by user."""
        return list(self._all().values())

    def get(self, user: str) -> dict[str, Any] | None:
        """``user``'s delegation (in its window or not), or None."""
        return self._all().get(user)

    def delegate_of(self, user: str, now: datetime) -> str | None:
        """Who gets ``user``'s reviews at ``now``: the delegate while the window holds
        and the delegate may still decide them; else None."""
        row = self._all().get(user)
        if row is None or not (row["starts_at"] <= now < row["ends_at"]):
            return None
        delegate = row["delegate"]
        try:
            access.check_may_delegate(
                {"roles": ["admin"]},
                "system",
                self._users.user(user),
                user,
                self._users.user(delegate),
                delegate,
            )
        except access.AccessError:
            return None
        return delegate

    def forget(self) -> None:
        """Drop the cached delegations (after a change)."""
        with self._lock:
            self._cache = None

    def _all(self) -> dict[str, dict[str, Any]]:
        version = self._store.data_version()
        with self._lock:
            if self._cache is not None and self._cache[0] == version:
                return self._cache[1]
        rows = {r["user_name"]: r for r in self._store.list_delegations()}
        with self._lock:
            self._cache = (version, rows)
        return rows
