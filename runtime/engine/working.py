"""A run while the engine works on it, and the engine's tunables shared by its parts."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from runtime.domain import Claim, RunRecord
from runtime.engine.results import RunResult
from runtime.nodes.base import utcnow

SYSTEM = "system"  # the actor of deadlines; no person may decide as it


@dataclass(slots=True)
class EngineConfig:
    """The engine's tunables, one object shared by reference by every part.

    ``Engine`` exposes these as attributes (``engine.batch_size = 10`` reaches every part).
    """

    batch_size: int = 500
    clock: Callable[[], datetime] = utcnow
    card_cache_size: int = 50_000
    apply_linger: float = 0.2  # seconds a recorded (not awaited) decision may wait for company


@dataclass(slots=True)
class WorkingRun(RunRecord):
    """A run while the engine works on it: the record plus where it waits."""

    review_id: str | None = None
    team: str | None = None

    def result_model(self) -> RunResult:
        """Where the run stands, as the public API reports it."""
        return RunResult(
            run_id=self.id,
            workflow_id=self.workflow_id,
            workflow_version=self.workflow_version,
            status=self.status,
            waiting_on=self.current_node if self.status == "waiting" else None,
            review_id=self.review_id,
            team=self.team,
            result=self.result,
            error=self.error,
            step_count=self.step_count,
            outputs=self.steps,
        )

    @classmethod
    def of(cls, record: RunRecord) -> WorkingRun:
        """The engine's working copy of a stored run."""
        return cls(**{name: getattr(record, name) for name in _RUN_FIELDS})

    @classmethod
    def from_review(cls, claim: Claim) -> WorkingRun:
        """The waiting run behind a review, with its own copy of the data (the claim's
        run is left as it was: it is what the run looked like before the decision)."""
        waiting = claim.run
        item, steps, review = clone((waiting.item, waiting.steps, waiting.review))
        return cls(
            id=claim.run_id,
            workflow_id=claim.workflow_id,
            workflow_version=claim.workflow_version,
            status="running",
            current_node=claim.node_id,
            item=item,
            steps=steps,
            review=review,
            visits=dict(waiting.visits),
            step_count=waiting.step_count,
            created_at=waiting.created_at,
            updated_at=utcnow(),
            batch_id=waiting.batch_id,
            idempotency_key=waiting.idempotency_key,
            started_by=waiting.started_by,
        )


_RUN_FIELDS = tuple(f.name for f in fields(RunRecord))


def clone(value: Any) -> Any:
    """A deep copy of run data (JSON-like), several times faster than copy.deepcopy."""
    try:
        return pickle.loads(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))  # noqa: S301 (own data)
    except Exception:  # something pickle cannot take: the slow way
        return copy.deepcopy(value)


def iso(at: datetime) -> str:
    """A time as the engine's messages print it (seconds, UTC ``Z``)."""
    return at.isoformat(timespec="seconds") + "Z"
