"""Starting runs: one, or a batch group-committed a chunk at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from runtime.compiler import Workflow
from runtime.domain import WriteBatch
from runtime.engine.claims import ClaimCache
from runtime.engine.results import BatchItemError, Progress, RunResult
from runtime.engine.stepper import Stepper
from runtime.engine.working import EngineConfig, WorkingRun
from runtime.errors import ItemError
from runtime.items import text_problems
from runtime.store.contract import RunLedger


class RunStarter:
    """Starts runs of a compiled, saved workflow (the caller resolved and authorized).

    Args:
        store: Where a batch's existing runs are looked up.
        config: The engine's tunables (``batch_size`` runs per commit).
        stepper: Runs new runs to their first stop.
        claims: The claim cache (commits).
    """

    def __init__(
        self, store: RunLedger, config: EngineConfig, stepper: Stepper, claims: ClaimCache
    ):
        self._store = store
        self._config = config
        self._stepper = stepper
        self._claims = claims

    def start(
        self,
        wf: Workflow,
        item: dict[str, Any],
        *,
        by: str | None = None,
        idempotency_key: str | None = None,
    ) -> RunResult:
        """Start one run; returns once it is durable (waiting, finished or failed).

        Raises:
            ItemError: the item does not match the workflow's input, or holds text that
                cannot be stored.
        """
        clean = checked_item(wf, item)
        now = self._config.clock()
        run = self._stepper.new_run(wf, clean, now, by, None, idempotency_key)
        batch = WriteBatch()
        self._stepper.start(run, wf, batch, now)
        self._claims.commit(batch)
        return run.result_model()

    def start_many(
        self,
        wf: Workflow,
        items: Iterable[Any],
        *,
        by: str | None = None,
        batch_id: str | None = None,
        progress: Progress | None = None,
        on_result: Callable[[int, RunResult | BatchItemError], None] | None = None,
    ) -> list[RunResult | BatchItemError]:
        """Start a run per item, ``batch_size`` runs advanced (through the stepper's
        executor) and committed per transaction.

        With a ``batch_id``, each item gets the idempotency key ``batch_id:index``: calling
        again with the same batch starts only the items not yet started and returns the
        existing runs for the others.

        Returns:
            One entry per item, in order: its RunResult, or a BatchItemError for a bad item.
        """
        items = list(items)
        total = len(items)
        existing = self._store.batch_runs(batch_id) if batch_id else {}
        results: list[RunResult | BatchItemError | None] = [None] * total
        done = 0
        chunk: list[tuple[int, WorkingRun, datetime]] = []
        stepper = self._stepper

        def start_one(job: tuple[int, WorkingRun, datetime], batch: WriteBatch) -> None:
            _, run, now = job
            stepper.start(run, wf, batch, now)

        def flush() -> None:
            nonlocal chunk, done
            batch = WriteBatch()
            stepper.executor.map_into(start_one, chunk, batch)
            self._claims.commit(batch)
            for index, run, _ in chunk:
                res = run.result_model()
                results[index] = res
                if on_result:
                    on_result(index, res)
            done += len(chunk)
            chunk = []
            if progress:
                progress(done, total)

        for index, raw in enumerate(items):
            key = f"{batch_id}:{index}" if batch_id else None
            if key and key in existing:
                prev = existing[key]
                res = RunResult(
                    run_id=prev["id"],
                    workflow_id=wf.id,
                    workflow_version=wf.version or 0,
                    status=prev["status"],
                    waiting_on=prev["current_node"] if prev["status"] == "waiting" else None,
                )
                results[index] = res
                done += 1
                if on_result:
                    on_result(index, res)
                continue
            try:
                clean = checked_item(wf, raw)
            except ItemError as exc:
                err = BatchItemError(index=index, error=str(exc))
                results[index] = err
                done += 1
                if on_result:
                    on_result(index, err)
                continue
            now = self._config.clock()
            chunk.append((index, stepper.new_run(wf, clean, now, by, batch_id, key), now))
            if len(chunk) >= self._config.batch_size:
                flush()
        if chunk:
            flush()
        elif progress:
            progress(done, total)
        return [r for r in results if r is not None]


def checked_item(wf: Workflow, item: Any) -> dict[str, Any]:
    """The item checked against the workflow's input, and checked to be storable text:
    what a run of ``wf`` would start with (defaults filled, CSV strings converted).

    Raises:
        ItemError: a field does not match the input, or holds a lone surrogate (text the
            store cannot encode; left in, it would fail the whole group commit).
    """
    clean = wf.validate_item(item)
    problems = text_problems(clean)
    if problems:
        raise ItemError(problems, workflow_id=wf.id)
    return clean
