"""The votes part of the store contract: one row per person's vote on a multi-approver
review (``runtime.nodes._approvers``), and moving a review to the next group of a sequence.

Kept apart from :mod:`runtime.store.contract` (which re-exports both protocols) so each
stays small. A backend keeps at most one vote per person and review: a second one is
refused by the store too, not only by the engine's check.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol


class VoteWrites(Protocol):
    """What a unit of work writes for votes (inside its transaction)."""

    def add_vote(
        self,
        review_id: str,
        *,
        voter: str,
        action: str,
        at: datetime,
        step: int = 0,
        note: str | None = None,
        reason: str | None = None,
    ) -> bool:
        """Record one person's vote on a pending review.

        Returns:
            False (and nothing written) when this voter has voted on it already.
        """
        ...

    def route_review(self, review_id: str, *, team: str | None, assignee: str | None) -> bool:
        """Give a pending review to another team and assignee; True if it changed."""
        ...


class VoteReads(Protocol):
    """The votes the engine tallies and the Review page shows."""

    def review_votes(self, review_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """The votes on these reviews, oldest first, per review id (reviews without a
        vote are left out): rows of ``review_id, voter, action, step, note, reason, voted_at``."""
        ...
