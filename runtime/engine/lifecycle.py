"""A run's life after it started: retry a failed run, cancel, recover after a crash, read."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from runtime.domain import Event, WriteBatch
from runtime.engine.catalog import WorkflowCatalog
from runtime.engine.claims import ClaimCache
from runtime.engine.results import RunResult
from runtime.engine.stepper import Stepper
from runtime.engine.working import EngineConfig, WorkingRun
from runtime.errors import RunError
from runtime.store.contract import Store


class RunLifecycle:
    """Retry, cancel, recover and read runs.

    Args:
        store: The store.
        config: The engine's tunables.
        catalog: Compiled workflows by version.
        stepper: Runs runs on.
        claims: The claim cache (commits).
        flush: Waits until recorded decisions are applied (a cancel goes after them).
    """

    def __init__(
        self,
        store: Store,
        config: EngineConfig,
        catalog: WorkflowCatalog,
        stepper: Stepper,
        claims: ClaimCache,
        flush: Callable[[], object],
    ):
        self._store = store
        self._config = config
        self._catalog = catalog
        self._stepper = stepper
        self._claims = claims
        self._flush = flush

    def retry(self, run_id: str, *, by: str | None = None) -> RunResult:
        """Run a failed run again from the node that failed (``by`` already authorized).

        Raises:
            RunError: the run is not failed, or failed before any node ran.
        """
        run = WorkingRun.of(self._store.load_run(run_id))
        if run.status != "failed":
            raise RunError(f"run {run_id} is {run.status}, only failed runs can be retried")
        wf = self._catalog.get(run.workflow_id, run.workflow_version)
        if run.current_node not in wf.nodes:
            raise RunError(f"run {run_id} failed before any node ran; start a new run instead")
        now = self._config.clock()
        batch = WriteBatch()
        batch.events.append(
            Event(
                kind="run.retried",
                run_id=run.id,
                node_id=run.current_node,
                actor=by,
                at=now,
                data={"error": run.error},
            )
        )
        run.error = None
        run.finished_at = None
        if run.step_count >= wf.spec.max_steps:
            run.step_count = 0  # a retry gets a fresh step budget
        self._stepper.advance(run, wf, batch, now)
        self._claims.commit(batch)
        return run.result_model()

    def cancel(self, run_id: str, *, by: str, reason: str | None = None) -> RunResult:
        """Stop a waiting or running run; its pending reviews are cancelled (``by``
        already authorized).

        Raises:
            RunError: the run has finished, or its review is being decided right now.
        """
        self._flush()  # a decision already recorded on this run goes first
        now = self._config.clock()
        pending = self._store.pending_review_for_run(run_id)
        held, busy = self._store.hold_reviews(
            [pending["id"]] if pending else [], status="cancelled", by=by, at=now
        )
        try:
            if busy:
                raise RunError(f"run {run_id} cannot be cancelled now: {next(iter(busy.values()))}")
            return self._cancel(run_id, by, reason, now)
        finally:
            self._store.release_reviews(held)

    def _cancel(self, run_id: str, by: str, reason: str | None, now: datetime) -> RunResult:
        run = WorkingRun.of(self._store.load_run(run_id))
        if run.status not in ("waiting", "running"):
            raise RunError(f"run {run_id} is {run.status}; only waiting runs can be cancelled")
        with self._store.unit_of_work() as uow:
            cancelled = uow.cancel_reviews(run_id, by, now)
            run.status = "failed"
            run.error = f"cancelled by {by}" + (f": {reason}" if reason else "")
            run.finished_at = run.updated_at = now
            batch = WriteBatch(
                runs={run.id: run},
                events=[
                    Event(
                        kind="run.cancelled",
                        run_id=run.id,
                        actor=by,
                        at=now,
                        data={"reason": reason, "reviews": cancelled},
                    )
                ],
            )
            uow.write(batch)
        return run.result_model()

    def recover(self) -> list[RunResult]:
        """Continue runs a crashed process left in ``running`` (committed mid-way)."""
        out = []
        for run_id in self._store.run_ids_by_status("running"):
            run = WorkingRun.of(self._store.load_run(run_id))
            wf = self._catalog.get(run.workflow_id, run.workflow_version)
            now = self._config.clock()
            batch = WriteBatch()
            self._stepper.advance(run, wf, batch, now)
            self._claims.commit(batch)
            out.append(run.result_model())
        return out

    def get_run(self, run_id: str) -> RunResult:
        """Where a run stands (a finished run's outputs from the audit trail)."""
        run = WorkingRun.of(self._store.load_run(run_id))
        if run.status == "succeeded":
            run.steps = self._store.run_outputs(run_id)
        if run.status == "waiting":
            pending = self._store.pending_review_for_run(run_id)
            if pending:
                run.review_id, run.team = pending["id"], pending["team"]
        return run.result_model()
