"""The executor seam: where node work runs (inline by default, or on a thread pool).

What crosses the seam, so that a Ray (or process) executor can plug in later: a node's
work is ``node_type.run(ctx, params)``, a function of serialisable inputs only: the node
type (a registered class, found by its ``type_name``), its params (a pydantic model), and
the :class:`~runtime.nodes.base.RunContext` fields ``run_id, workflow_id, node_id, item,
steps, review, now, visits`` (JSON-like data and a datetime). ``ctx.services`` does not
cross: a remote executor gives each worker its own :class:`~runtime.nodes.base.NodeServices`
(record reads, models, settings). What comes back is the outcome (``Continue``, ``Wait``
or ``Fail``, plain dataclasses) plus ``ctx.effects`` and ``ctx.outbox`` (lists of dicts).
The driver stays the single writer: it turns outcomes into a write batch and commits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from runtime.domain import WriteBatch
from runtime.errors import LoopgateError
from runtime.nodes.base import Fail, NodeType, Outcome, RunContext

T = TypeVar("T")

__all__ = ["InlineExecutor", "NodeExecutor", "ThreadPoolNodeExecutor", "run_node"]


def run_node(node_type: NodeType, params: Any, ctx: RunContext) -> Outcome:
    """Run one node; any error becomes a ``Fail`` outcome instead of an exception.

    A node's bug must fail its run, not the engine: an unexpected exception becomes
    ``Fail("<type> crashed: <Exception>: <message>")``.
    """
    try:
        return node_type.run(ctx, params)
    except LoopgateError as exc:
        return Fail(str(exc))
    except Exception as exc:
        return Fail(f"{node_type.type_name} crashed: {type(exc).__name__}: {exc}")


class NodeExecutor(Protocol):
    """Runs node work for the stepper.

    ``run_node`` runs one node of one run; ``map_into`` advances many independent runs
    (each ``step(job, batch)`` call steps one run and fills a write batch) and leaves all
    their writes in ``batch``, in the order of ``jobs`` whatever order they ran in.
    """

    def run_node(self, node_type: NodeType, params: Any, ctx: RunContext) -> Outcome:
        """Run one node (see :func:`run_node`)."""
        ...

    def map_into(
        self,
        step: Callable[[T, WriteBatch], None],
        jobs: Sequence[T],
        batch: WriteBatch,
    ) -> None:
        """Apply ``step`` to every job, collecting the writes in ``batch`` in job order."""
        ...


class InlineExecutor:
    """The default: every node runs in the calling thread, one run after another."""

    def run_node(self, node_type: NodeType, params: Any, ctx: RunContext) -> Outcome:
        """Run one node in this thread (see :func:`run_node`)."""
        return run_node(node_type, params, ctx)

    def map_into(
        self,
        step: Callable[[T, WriteBatch], None],
        jobs: Sequence[T],
        batch: WriteBatch,
    ) -> None:
        """Step each job in turn straight into ``batch`` (no copies, no futures)."""
        for job in jobs:
            step(job, batch)


class ThreadPoolNodeExecutor:
    """Advances the runs of a batch concurrently on a thread pool.

    Worth it when node work waits (model servers, webhooks); each run still steps
    sequentially, and the writes are merged in job order, so results and the audit trail
    match :class:`InlineExecutor`'s.

    Args:
        max_workers: Threads in the pool (``None``: ``concurrent.futures``' default).
    """

    def __init__(self, max_workers: int | None = None):
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="loopgate-node")

    def run_node(self, node_type: NodeType, params: Any, ctx: RunContext) -> Outcome:
        """Run one node in the calling thread (a run's steps are sequential)."""
        return run_node(node_type, params, ctx)

    def map_into(
        self,
        step: Callable[[T, WriteBatch], None],
        jobs: Sequence[T],
        batch: WriteBatch,
    ) -> None:
        """Step the jobs concurrently, each into a batch of its own, then merge in order."""
        subs = [WriteBatch() for _ in jobs]
        for future in [
            self._pool.submit(step, job, sub) for job, sub in zip(jobs, subs, strict=True)
        ]:
            future.result()
        for sub in subs:
            batch.merge(sub)

    def shutdown(self) -> None:
        """Stop the pool's threads (waits for work in progress)."""
        self._pool.shutdown(wait=True)
