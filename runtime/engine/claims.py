"""What deciding a review needs, kept from when the engine created it (no read needed)."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from runtime.domain import Claim, WriteBatch
from runtime.engine.working import EngineConfig
from runtime.store.contract import RunLedger


class ClaimCache:
    """Claims of the reviews this engine created, and the commit that fills it.

    A review's claim (its run as it waits, its form, actions, team) is fixed while the
    review is pending, so a decision on a review created here needs no read.
    ``config.card_cache_size`` bounds it (oldest dropped first).

    Args:
        store: Where claims not cached are read, and batches are committed.
        config: The engine's tunables.
    """

    def __init__(self, store: RunLedger, config: EngineConfig):
        self._store = store
        self._config = config
        self._cards: dict[str, Claim] = {}
        self._lock = threading.Lock()

    def get(self, review_id: str) -> Claim | None:
        """A cached claim, or None."""
        return self._cards.get(review_id)

    def claims_for(self, review_ids: list[str]) -> dict[str, Claim]:
        """What deciding these reviews needs: cached or, for the others, one read.

        A review not found is left out. Read-only: ``WorkingRun.from_review`` copies.
        """
        with self._lock:
            out = {rid: self._cards[rid] for rid in review_ids if rid in self._cards}
        missing = [rid for rid in review_ids if rid not in out]
        if missing:
            out.update(self._store.review_claims(missing))
        return out

    def commit(self, batch: WriteBatch) -> None:
        """Commit a batch in a unit of work of its own, then remember its reviews."""
        self._store.commit(batch)
        self.remember(batch)

    def remember(self, batch: WriteBatch) -> None:
        """Keep the claims of a committed batch's new reviews (call after commit)."""
        if not batch.reviews:
            return
        with self._lock:
            for r in batch.reviews:
                run = batch.runs.get(r.run_id)
                if run is not None and run.status == "waiting":
                    self._cards[r.id] = Claim.of(r, run)
            while len(self._cards) > self._config.card_cache_size:
                del self._cards[next(iter(self._cards))]

    def forget(self, review_ids: Iterable[str]) -> None:
        """Drop the claims of reviews that are no longer pending."""
        with self._lock:
            for rid in review_ids:
                self._cards.pop(rid, None)
