"""The escalation part of the store contract: chain steps, SLAs and delegations.

Kept apart from :mod:`runtime.store.contract` (which re-exports it) so each stays small.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from runtime.domain import DueStep, WriteBatch


class EscalationStore(Protocol):
    """What the escalation sweeper, the SLA counts and delegations need of a backend."""

    def due_steps(self, now: datetime, limit: int = 1000) -> list[DueStep]:
        """Pending reviews whose next escalation step is due at ``now``, oldest first."""
        ...

    def advance_review(
        self,
        review_id: str,
        expected_step: int,
        *,
        step: int,
        next_step_at: datetime | None,
        team: str | None,
        assignee: str | None,
        priority: str,
        delegated_from: str | None,
        note: str | None,
        batch: WriteBatch,
    ) -> bool:
        """Move a pending review at ``expected_step`` to ``step`` (new holder, priority)
        and write ``batch`` in the same transaction; False (nothing written) when the
        review is no longer pending at ``expected_step`` (another sweeper won)."""
        ...

    def count_overdue_reviews(
        self, now: datetime, *, teams: list[str] | None = None, user: str | None = None
    ) -> tuple[int, int]:
        """Pending reviews with an SLA and how many are past it, under an access rule."""
        ...

    def set_delegation(
        self,
        user: str,
        delegate: str,
        starts_at: datetime,
        ends_at: datetime,
        *,
        note: str | None,
        by: str,
        at: datetime,
        batch: WriteBatch,
    ) -> None:
        """Set (replace) a user's delegation and write ``batch`` with it."""
        ...

    def clear_delegation(self, user: str, *, batch: WriteBatch) -> bool:
        """Remove a user's delegation (writing ``batch``); False when there was none."""
        ...

    def list_delegations(self) -> list[dict[str, Any]]:
        """Every delegation (``user_name, delegate, starts_at, ends_at, note, set_by,
        set_at``)."""
        ...
