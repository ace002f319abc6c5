"""The decision journal: a decision is durable with one write; an applier thread runs it on."""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
import time
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from runtime.domain import Claim, Event, WriteBatch, refusal
from runtime.engine.claims import ClaimCache
from runtime.engine.decisions import Decisions, Ready, settle_row
from runtime.engine.results import RunResult
from runtime.engine.users import UserAccess
from runtime.engine.working import EngineConfig
from runtime.errors import LoopgateError, RunError, StoreError
from runtime.nodes.base import Decision
from runtime.store.contract import Store

log = logging.getLogger("loopgate.engine")


@dataclass(slots=True)
class Journaled:
    """A decision in the journal, waiting to be applied."""

    seq: int
    review_id: str
    by: str
    at: datetime
    decision: Decision
    run_id: str = ""
    waited: bool = False  # someone waits on it (decide()): apply without lingering
    done: threading.Event = field(default_factory=threading.Event)
    result: RunResult | None = None
    error: LoopgateError | None = None


class DecisionJournal:
    """Records decisions durably and applies them in the background, many per commit.

    :meth:`record` checks a decision and makes it durable with one journal write; an
    applier thread (started on demand) claims the reviews and runs the workflows on,
    as many per transaction as are queued (lingering ``config.apply_linger`` seconds
    for company when nobody waits). Decisions a stopped process left in the journal are
    applied on open (:meth:`replay`); what is recorded is applied before the store closes
    or Python exits.

    Args:
        store: The store (journal, holds, units of work).
        config: The engine's tunables.
        users: The access checks.
        claims: The claim cache.
        decisions: Runs decided runs on and settles them.
    """

    def __init__(
        self,
        store: Store,
        config: EngineConfig,
        users: UserAccess,
        claims: ClaimCache,
        decisions: Decisions,
    ):
        self._store = store
        self._config = config
        self._users = users
        self._claims = claims
        self._decisions = decisions
        self._cond = threading.Condition()
        self._queue: list[Journaled] = []
        self._applying = 0
        self._applier_running = False
        self._flushing = 0
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._done: list[int] = []  # applied journal rows not yet removed
        if not store.read_only:
            self.replay()
            # Recorded decisions are applied, and the applier has stopped, before the store
            # closes or Python exits.
            store.before_close.append(self.stop)
            _JOURNALS.add(self)

    # ------------------------------------------------------------ recording

    def record(
        self, review_id: str, decision: Decision | dict[str, Any], by: str, waited: bool = False
    ) -> Journaled:
        """Check a decision, journal it (durable) and queue it for the applier.

        Raises:
            ReviewNotPendingError: already decided (names who and when) or expired.
            NotFoundError: no such review.
            AccessError: the user may not decide this review.
            DecisionError: the decision does not fit the checkpoint.
        """
        if not isinstance(decision, Decision):
            decision = Decision.model_validate(decision)
        self._users.authorize_decider(by)  # a reviewer or an admin; never "system"
        self._store.check_not_held(review_id)  # "already decided" before any other complaint
        claim = self._claims.get(review_id) or self._store.review_claim(review_id)
        self._decisions.check(claim, decision, by)
        now = self._config.clock()
        seq = self._store.journal_decision(
            review_id,
            by=by,
            at=now,
            decision=decision.model_dump(mode="json", exclude_none=True),
        )
        journaled = Journaled(
            seq=seq,
            review_id=review_id,
            by=by,
            at=now,
            decision=decision,
            run_id=claim.run_id,
            waited=waited,
        )
        self.submit(journaled)
        return journaled

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every recorded decision has been applied; False on timeout."""
        with self._cond:
            self._flushing += 1
            self._cond.notify_all()
            try:
                return self._cond.wait_for(lambda: not self._queue and not self._applying, timeout)
            finally:
                self._flushing -= 1

    def stop(self, timeout: float = 60.0) -> None:
        """Apply what was recorded, then stop the applier thread and wait for it.

        The store calls this before it closes, and Python at exit: a daemon thread still
        inside DuckDB while the interpreter shuts down aborts the process ("terminate
        called after throwing ..."), after the command had succeeded.
        """
        self.flush(timeout)
        with self._cond:
            self._stopping = True
            thread = self._thread
            self._cond.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    # ------------------------------------------------------------ the applier

    def submit(self, journaled: Journaled) -> None:
        """Queue a journaled decision; start the applier thread if it is not running."""
        with self._cond:
            self._queue.append(journaled)
            if not self._applier_running:
                self._applier_running = True
                self._stopping = False
                self._thread = threading.Thread(
                    target=self._apply_loop, name="loopgate-decisions", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()

    def _apply_loop(self) -> None:
        """Apply journaled decisions as they come, as many per transaction as are queued."""
        while True:
            with self._cond:
                if not self._queue and not self._stopping:
                    self._cond.wait(timeout=2.0)
                if not self._queue:
                    self._applier_running = False
                    self._cond.notify_all()
                    done, self._done = self._done, []
                    break
                size = self._config.batch_size
                # Nobody waits on recorded decisions: gather more of them per commit.
                linger = time.monotonic() + self._config.apply_linger
                while (
                    len(self._queue) < size
                    and not self._flushing
                    and not any(j.waited for j in self._queue)
                    and (left := linger - time.monotonic()) > 0
                ):
                    self._cond.wait(timeout=left)
                todo = self._queue[:size]
                del self._queue[:size]
                self._applying = len(todo)
            try:
                self.apply(todo)
            except Exception as exc:  # never leave a waiting decide() hanging
                log.exception("applying decisions failed")
                for j in todo:
                    if not j.done.is_set():
                        j.error = RunError(f"the decision on {j.review_id} failed: {exc}")
                        j.done.set()
            finally:
                with self._cond:
                    self._applying = 0
                    self._cond.notify_all()
        try:  # idle: tidy the journal
            self._store.forget_journal(done)
        except Exception as exc:  # the store may be closed; a replay tidies up instead
            log.debug("journal not tidied: %s", exc)

    def apply(self, todo: list[Journaled]) -> None:
        """Apply journaled decisions in one transaction, retrying a failed commit.

        A batch that cannot be committed stays in the journal and held: nobody can decide
        those reviews again, and the next engine to open the store applies them.
        """
        problem: Exception | None = None
        for attempt in range(3):
            try:
                self._apply_once(todo)
                break
            except Exception as exc:  # the database failed; the journal still has them
                problem = exc
                log.warning("applying %d decision(s) failed: %s", len(todo), exc)
                time.sleep(0.05 * 2**attempt)
        else:
            for j in todo:
                j.error = StoreError(
                    f"the decision on {j.review_id} is recorded but its run could not go on "
                    f"({problem}); it is applied when Loopgate next opens {self._store.path}"
                )
                j.done.set()
            return
        ids = [j.review_id for j in todo]
        self._store.release_reviews(ids)
        self._claims.forget(ids)
        for j in todo:
            j.done.set()

    def _apply_once(self, todo: list[Journaled]) -> None:
        """Run each decided run on (outside the write lock: a node may call a webhook), then
        settle the reviews and write everything in one short transaction."""
        batch = WriteBatch()
        failed: list[int] = []
        # Journal rows of decisions applied earlier go in the same commit, a few hundred at
        # a time (a replay skips applied rows anyway).
        forget = self._done[:] if len(self._done) >= self._config.batch_size else []
        claims = self._claims.claims_for([j.review_id for j in todo])
        ready: list[Ready] = []
        for j in todo:
            j.result = j.error = None
            claim = claims.get(j.review_id)
            try:
                if claim is None or claim.status != "pending":
                    raise refusal(j.review_id, claim)
                sub = WriteBatch()
                run = self._decisions.resume(claim, j.decision, j.by, sub, j.at)
            except Exception as exc:
                self._failed(j, claim, exc, batch, failed)
                continue
            ready.append(Ready(settle_row(j.review_id, j.by, j.at, j.decision), sub, run, j))
        settled = self._decisions.write_settled(
            ready,
            batch,
            lost=lambda r, exc: self._failed(r.tag, claims.get(r.review_id), exc, batch, failed),
            also=lambda uow: uow.forget_journal(forget + failed),
        )
        for r in ready:
            if r.review_id in settled:
                r.tag.result = r.run.result_model()
        del self._done[: len(forget)]
        self._done += [j.seq for j in todo if j.error is None]

    def _failed(
        self,
        j: Journaled,
        claim: Claim | None,
        exc: Exception,
        batch: WriteBatch,
        failed: list[int],
    ) -> None:
        """A journaled decision that cannot be applied: said to its decider and audited."""
        if isinstance(exc, LoopgateError):
            j.error = exc
        else:  # a node's bug must not lose the other decisions
            j.error = RunError(
                f"applying the decision on {j.review_id} failed: {type(exc).__name__}: {exc}"
            )
        failed.append(j.seq)
        batch.events.append(
            Event(
                kind="review.decision_failed",
                review_id=j.review_id,
                run_id=claim.run_id if claim else None,
                actor=j.by,
                at=j.at,
                data={"action": j.decision.action, "error": str(j.error)},
            )
        )

    def replay(self) -> None:
        """Apply decisions a stopped process journaled but did not apply."""
        entries = self._store.journal_entries()
        if not entries:
            return
        todo = []
        applied = []
        mine = set(self._store.held_review_ids())  # other engines' decisions in flight
        for e in entries:
            if e.review_id in mine:
                continue
            if e.review_status != "pending":
                applied.append(e.seq)
                continue
            held, _busy = self._store.hold_reviews(
                [e.review_id], status="decided", by=e.decided_by, at=e.decided_at
            )
            if held:  # else another engine in this process is applying it
                todo.append(
                    Journaled(
                        seq=e.seq,
                        review_id=e.review_id,
                        by=e.decided_by,
                        at=e.decided_at,
                        decision=Decision.model_validate(e.decision),
                    )
                )
        size = self._config.batch_size
        for start in range(0, len(todo), size):
            chunk = todo[start : start + size]
            self.apply(chunk)
            for j in chunk:
                if j.error is not None:
                    log.warning("journaled decision on %s: %s", j.review_id, j.error)
        self._store.forget_journal(applied + self._done)
        self._done.clear()
        if todo:
            log.info("applied %d journaled decision(s) left by a stopped process", len(todo))


_JOURNALS: weakref.WeakSet[DecisionJournal] = weakref.WeakSet()


@atexit.register
def _flush_journals() -> None:
    """At exit, apply what was recorded (the applier is a daemon thread)."""
    for journal in list(_JOURNALS):
        with contextlib.suppress(Exception):
            journal.stop(timeout=60)
