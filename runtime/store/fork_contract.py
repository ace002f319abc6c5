"""The fork part of the store contract: the run's data kept at each checkpoint, and where
forked runs came from (``runtime/engine/fork.py`` writes and reads them).

Kept apart from :mod:`runtime.store.contract` (which re-exports it) so each stays small.
Writing: a review of a :class:`~runtime.domain.WriteBatch` that carries a ``snapshot`` has
it kept by :meth:`UnitOfWork.write`; a fork's origin is written by
:meth:`UnitOfWork.record_fork` in the unit of work that writes the forked run.
"""

from __future__ import annotations

from typing import Any, Protocol


class ForkReads(Protocol):
    """What forking a run, and showing forks, reads."""

    def checkpoint_state(self, review_id: str) -> dict[str, Any] | None:
        """The run's data when it stopped at this review's checkpoint (``item, steps,
        review, visits, step_count``), or None when it was not kept."""
        ...

    def checkpoint_state_ids(self, run_id: str) -> set[str]:
        """The ids of a run's reviews whose checkpoint data is kept."""
        ...

    def fork_origin(self, run_id: str) -> dict[str, Any] | None:
        """Where a forked run came from: ``run_id, forked_from, node_id, review_id,
        original`` (the original decision, None when there was none), ``decision,
        forked_by, forked_at``; None for a run that is no fork."""
        ...

    def forks_of(self, run_id: str) -> list[dict[str, Any]]:
        """The runs forked from this one (rows as :meth:`fork_origin`), oldest first."""
        ...
