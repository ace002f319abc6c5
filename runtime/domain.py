"""The records that cross the engine/store boundary: runs, reviews, claims, settlements,
audit events and the write batch one transaction commits.

The engine builds these; a store backend (``runtime.store.contract``) maps them to its
tables. Neither side sees the other's row shapes: no column lists, no cursors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from runtime.errors import NotFoundError, ReviewNotPendingError, RunError
from runtime.ids import NodeId, ReviewId, RunId, UserName, WorkflowId

RunStatus = Literal["running", "waiting", "succeeded", "failed", "cancelled"]
ReviewStatus = Literal["pending", "decided", "expired", "cancelled"]
# How a review is held while a decision path works on it (see StoreContract.hold_reviews).
HoldStatus = Literal["decided", "expired", "cancelled"]

__all__ = [
    "Claim",
    "DueReview",
    "DueStep",
    "Event",
    "HoldStatus",
    "JournalEntry",
    "NodeId",
    "ReviewId",
    "ReviewRecord",
    "ReviewStatus",
    "RunId",
    "RunRecord",
    "RunStatus",
    "Settlement",
    "UserName",
    "WorkflowId",
    "WriteBatch",
    "refusal",
]


@dataclass(slots=True)
class RunRecord:
    """A run: its position, its data and its outcome.

    The engine works on one while it steps a run; a store writes it (inserted when
    ``is_new``, else updated by id) and reads it back.
    """

    id: RunId
    workflow_id: WorkflowId
    workflow_version: int
    status: RunStatus
    current_node: NodeId | None
    item: dict[str, Any]
    steps: dict[str, Any]
    review: dict[str, Any] | None
    visits: dict[str, int]
    step_count: int
    created_at: datetime
    updated_at: datetime
    error: str | None = None
    result: str | None = None
    batch_id: str | None = None
    idempotency_key: str | None = None
    started_by: UserName | None = None
    finished_at: datetime | None = None
    is_new: bool = False

    def resume_state(self) -> dict[str, Any]:
        """What resuming the run needs beyond its item, as a store keeps it.

        A finished run needs none: its step outputs live in the audit trail (the
        ``steps`` view), so they are not stored a second time.
        """
        if self.status == "succeeded":
            return {}
        return {"steps": self.steps, "review": self.review, "visits": self.visits}


@dataclass(slots=True)
class ReviewRecord:
    """A pending review as a checkpoint created it (one row of a store's reviews)."""

    id: ReviewId
    run_id: RunId
    workflow_id: WorkflowId
    workflow_version: int
    node_id: NodeId
    kind: str
    team: str | None
    assignee: UserName | None
    priority: str
    instructions: str
    note: str | None
    reason_codes: list[str]
    actions: list[str]
    form: list[dict[str, Any]]
    display: dict[str, Any]
    visits: int
    deadline: datetime | None
    on_timeout: str | None
    escalate_to: str | None
    escalated_from: ReviewId | None
    created_at: datetime
    status: ReviewStatus = "pending"
    options: list[str] = field(default_factory=list)
    # The run's data as it stopped here (item, steps, review, visits, step_count): what a
    # fork of the run at this checkpoint starts from (runtime/engine/fork.py).
    snapshot: dict[str, Any] | None = None
    # The escalation chain: steps taken so far and when the next is due; the SLA's due
    # time; whose review it was when a delegation gave it to ``assignee``.
    escalation_step: int = 0
    next_step_at: datetime | None = None
    due_at: datetime | None = None
    delegated_from: UserName | None = None


@dataclass(slots=True)
class Claim:
    """What deciding a review needs: the review and its waiting run, read together.

    ``run`` is the run as it waits at the review's node; it is read-only (a decision works
    on a copy). ``status``, ``decided_by`` and ``decided_at`` are the review's now.
    """

    id: ReviewId
    run_id: RunId
    workflow_id: WorkflowId
    workflow_version: int
    node_id: NodeId
    kind: str
    team: str | None
    reason_codes: list[str]
    form: list[dict[str, Any]]
    actions: list[str]
    visits: int
    created_at: datetime
    priority: str
    deadline: datetime | None
    run: RunRecord
    status: ReviewStatus = "pending"
    decided_by: UserName | None = None
    decided_at: datetime | None = None
    assignee: UserName | None = None
    options: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, review: ReviewRecord, run: RunRecord) -> Claim:
        """The claim of a review the engine just created for ``run``."""
        return cls(
            id=review.id,
            run_id=review.run_id,
            workflow_id=review.workflow_id,
            workflow_version=review.workflow_version,
            node_id=review.node_id,
            kind=review.kind,
            team=review.team,
            reason_codes=review.reason_codes,
            form=review.form,
            actions=review.actions,
            visits=review.visits,
            created_at=review.created_at,
            priority=review.priority,
            deadline=review.deadline,
            run=run,
            assignee=review.assignee,
            options=review.options,
        )


@dataclass(slots=True)
class Settlement:
    """How a decision path marks a review it resolved (decided or expired)."""

    id: ReviewId
    status: ReviewStatus
    decided_by: UserName
    decided_at: datetime
    action: str
    data: dict[str, Any] | None = None
    reason: str | None = None
    note: str | None = None
    rating: int | None = None


@dataclass(slots=True)
class DueReview:
    """A pending review whose deadline has passed."""

    id: ReviewId
    run_id: RunId
    node_id: NodeId
    kind: str
    team: str | None
    on_timeout: str | None
    escalate_to: str | None
    deadline: datetime


@dataclass(slots=True)
class DueStep:
    """A pending review whose next escalation step is due."""

    id: ReviewId
    workflow_id: WorkflowId
    workflow_version: int
    node_id: NodeId
    created_at: datetime
    escalation_step: int
    next_step_at: datetime
    team: str | None
    assignee: UserName | None
    priority: str
    run_id: RunId


@dataclass(slots=True)
class JournalEntry:
    """A journaled decision, with its review's status now (``pending``: not applied yet)."""

    seq: int
    review_id: ReviewId
    decided_by: UserName
    decided_at: datetime
    decision: dict[str, Any]
    review_status: str


@dataclass(slots=True)
class Event:
    """An audit event before the store chains and writes it."""

    kind: str
    run_id: RunId | None = None
    review_id: ReviewId | None = None
    node_id: NodeId | None = None
    actor: UserName | None = None
    data: dict[str, Any] = field(default_factory=dict)
    at: datetime | None = None


@dataclass(slots=True)
class WriteBatch:
    """Everything one transaction writes.

    ``feedback``, ``records`` and ``outbox`` rows are dicts with the keys documented in
    docs/schema.md for their tables (nodes build records and outbox rows themselves).
    """

    runs: dict[str, RunRecord] = field(default_factory=dict)
    reviews: list[ReviewRecord] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    feedback: list[dict[str, Any]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.runs or self.reviews or self.events or self.feedback or self.records or self.outbox
        )

    def merge(self, other: WriteBatch) -> None:
        """Add ``other``'s writes to this batch."""
        self.runs.update(other.runs)
        self.reviews += other.reviews
        self.events += other.events
        self.feedback += other.feedback
        self.records += other.records
        self.outbox += other.outbox


def refusal(review_id: str, claim: Claim | None) -> RunError:
    """Why a review cannot be decided (``claim`` None: it does not exist)."""
    if claim is None:
        return NotFoundError(
            f"review {review_id} does not exist; list pending ones with `loopgate reviews`"
        )
    at = claim.decided_at
    return ReviewNotPendingError(
        review_id,
        claim.status,
        claim.decided_by,
        at.isoformat(timespec="seconds") + "Z" if at else None,
    )
