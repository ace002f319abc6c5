"""Deciding reviews: the settle-and-write step every decision path shares, and bulk decisions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from runtime.domain import Claim, Settlement, WriteBatch, refusal
from runtime.engine.catalog import WorkflowCatalog
from runtime.engine.claims import ClaimCache
from runtime.engine.results import BatchItemError, Progress, RunResult
from runtime.engine.stepper import Stepper
from runtime.engine.users import UserAccess
from runtime.engine.working import EngineConfig, WorkingRun, iso
from runtime.errors import LoopgateError, ReviewNotPendingError, RunError
from runtime.nodes._review import ReviewCheckpoint
from runtime.nodes.base import Decision
from runtime.store.contract import Store, UnitOfWork


@dataclass(slots=True)
class Ready:
    """A held review whose run went on (outside any transaction), waiting to be settled."""

    settle: Settlement  # how the review is marked
    batch: WriteBatch  # what the run did
    run: WorkingRun
    tag: Any = None  # the caller's: its journal entry, its slot, its report list

    @property
    def review_id(self) -> str:
        """The review this settles."""
        return self.settle.id


def settle_row(review_id: str, by: str, at: datetime, decision: Decision) -> Settlement:
    """How a review is marked when a person's decision settles it."""
    return Settlement(
        id=review_id,
        status="decided",
        decided_by=by,
        decided_at=at,
        action=decision.action,
        data=decision.data or None,
        reason=decision.reason,
        note=decision.note,
        rating=decision.rating,
    )


class Decisions:
    """Applies decisions to held reviews and commits them settled.

    Args:
        store: The store (its unit of work settles and writes; its holds keep other
            deciders out).
        config: The engine's tunables.
        catalog: Compiled workflows by version.
        users: The access checks.
        stepper: Runs a decided run on.
        claims: The claim cache.
    """

    def __init__(
        self,
        store: Store,
        config: EngineConfig,
        catalog: WorkflowCatalog,
        users: UserAccess,
        stepper: Stepper,
        claims: ClaimCache,
    ):
        self._store = store
        self._config = config
        self._catalog = catalog
        self._users = users
        self._stepper = stepper
        self._claims = claims

    def check(self, claim: Claim, decision: Decision, by: str) -> None:
        """Every check a decision must pass, without changing anything.

        Raises:
            AccessError: ``by`` may not decide this review.
            DecisionError: the decision does not fit the checkpoint.
        """
        wf = self._catalog.get(claim.workflow_id, claim.workflow_version)
        self.check_access(claim, by)
        self._stepper.validate(claim, wf, decision, by, self._config.clock())

    def check_access(self, claim: Claim, by: str) -> None:
        """Check ``by`` may decide this review, reading the checkpoint's
        ``allow_self_approval`` from the compiled workflow (anything but a review
        checkpoint does not allow it).

        Raises:
            AccessError: ``by`` may not decide this review (names who, which and why).
        """
        node = self._catalog.get(claim.workflow_id, claim.workflow_version).nodes.get(claim.node_id)
        allow = (
            node is not None
            and isinstance(node.type, ReviewCheckpoint)
            and node.type.allows_self_approval(node.params)
        )
        self._users.check_may_decide(by, claim, allow_self_approval=allow)

    def resume(
        self, claim: Claim, decision: Decision, by: str, batch: WriteBatch, now: datetime
    ) -> WorkingRun:
        """Run a decided run on to its next stop, its writes in ``batch``."""
        wf = self._catalog.get(claim.workflow_id, claim.workflow_version)
        return self._stepper.resume(claim, wf, decision, by, batch, now)

    def write_settled(
        self,
        ready: list[Ready],
        batch: WriteBatch,
        *,
        lost: Callable[[Ready, RunError], None],
        also: Callable[[UnitOfWork], None] | None = None,
    ) -> set[str]:
        """One transaction: settle the held reviews whose runs went on, and write what
        those runs did together with ``batch``.

        A review that was no longer pending (it cannot be while held) goes to ``lost``
        (inside the transaction, so it may add to ``batch``) and its run's writes are
        dropped. ``also`` may add to the transaction.

        Returns:
            The settled review ids.
        """
        with self._store.unit_of_work() as uow:
            settled = uow.settle([r.settle for r in ready])
            for r in ready:
                if r.review_id in settled:
                    batch.merge(r.batch)
                else:
                    lost(r, uow.refusal(r.review_id))
            uow.write(batch)
            if also is not None:
                also(uow)
        self._claims.remember(batch)
        return settled

    def decide_many(
        self,
        review_ids: list[str],
        decision: Decision | dict[str, Any],
        *,
        by: str,
        progress: Progress | None = None,
    ) -> list[RunResult | BatchItemError]:
        """One decision applied to many reviews, group-committed (a reviewer's bulk action).

        Reviews that cannot take it (decided meanwhile, wrong team, bad decision) are
        reported, one BatchItemError each, and the others go through.
        """
        if not isinstance(decision, Decision):
            decision = Decision.model_validate(decision)
        self._users.authorize_decider(by)
        out: list[RunResult | BatchItemError] = []
        total = len(review_ids)
        size = self._config.batch_size
        for start in range(0, total, size):
            chunk = review_ids[start : start + size]
            now = self._config.clock()
            held, busy = self._store.hold_reviews(chunk, status="decided", by=by, at=now)
            try:
                out += self._decide_chunk(chunk, start, held, busy, decision, by, now)
            finally:
                self._store.release_reviews(held)
            self._claims.forget(held)
            if progress:
                progress(min(start + len(chunk), total), total)
        return out

    def _decide_chunk(
        self,
        chunk: list[str],
        start: int,
        held: list[str],
        busy: dict[str, ReviewNotPendingError],
        decision: Decision,
        by: str,
        now: datetime,
    ) -> list[RunResult | BatchItemError]:
        """Run the held reviews' runs on (outside the write lock), then settle the reviews
        and write everything in one transaction."""
        claims = self._claims.claims_for(held)
        slots: list[RunResult | BatchItemError | None] = [None] * len(chunk)
        ready: dict[str, Ready] = {}
        for offset, review_id in enumerate(chunk):
            claim = claims.get(review_id)
            try:
                if review_id in busy:
                    raise busy[review_id]
                if review_id in ready:  # listed twice: decided once
                    raise ReviewNotPendingError(review_id, "decided", by, iso(now))
                if claim is None or claim.status != "pending":
                    raise refusal(review_id, claim)
                self.check_access(claim, by)
                sub = WriteBatch()
                run = self.resume(claim, decision, by, sub, now)
            except LoopgateError as exc:
                slots[offset] = BatchItemError(index=start + offset, error=str(exc))
                continue
            ready[review_id] = Ready(settle_row(review_id, by, now, decision), sub, run, offset)

        def lost(r: Ready, exc: RunError) -> None:
            slots[r.tag] = BatchItemError(index=start + r.tag, error=str(exc))

        settled = self.write_settled(list(ready.values()), WriteBatch(), lost=lost)
        for r in ready.values():
            if r.review_id in settled:
                slots[r.tag] = r.run.result_model()
        return [s for s in slots if s is not None]
