"""Loopgate's errors: one base class, one subclass per phase (spec, run, store, access)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel

Severity = Literal["error", "warning"]


class Problem(BaseModel):
    """One problem found in a workflow, an item or a decision.

    Attributes:
        message: what is wrong and what to do about it.
        node: the node id the problem belongs to, if any.
        field: the parameter, input field or path the problem belongs to, if any.
        severity: ``error`` blocks running; ``warning`` does not.
    """

    message: str
    node: str | None = None
    field: str | None = None
    severity: Severity = "error"

    def __str__(self) -> str:
        where = []
        if self.node:
            where.append(f"node {self.node}")
        if self.field:
            where.append(f"field {self.field}")
        prefix = ": ".join(where)
        text = f"{prefix}: {self.message}" if prefix else self.message
        return f"warning: {text}" if self.severity == "warning" else text


class LoopgateError(Exception):
    """Base class of every error Loopgate raises on purpose.

    Its message is meant for people: it names what is wrong and what to do.
    """


class SpecError(LoopgateError):
    """A workflow, a node's parameters, a template or an expression is invalid.

    Attributes:
        problems: every problem found, not just the first.
    """

    def __init__(self, problems: Iterable[Problem | str], workflow_id: str | None = None):
        self.problems = [p if isinstance(p, Problem) else Problem(message=p) for p in problems]
        self.workflow_id = workflow_id
        head = f"workflow {workflow_id}: " if workflow_id else ""
        super().__init__(head + "; ".join(str(p) for p in self.problems))


class ItemError(LoopgateError):
    """An input item does not match the workflow's input schema."""

    def __init__(self, problems: Iterable[Problem | str], workflow_id: str | None = None):
        self.problems = [p if isinstance(p, Problem) else Problem(message=p) for p in problems]
        head = f"item for workflow {workflow_id}: " if workflow_id else "item: "
        super().__init__(head + "; ".join(str(p) for p in self.problems))


class RunError(LoopgateError):
    """Something went wrong while running or resuming a run."""


class NotFoundError(RunError):
    """A run, review, workflow or user that does not exist."""


class DecisionError(RunError):
    """A decision that cannot be applied (wrong action, missing reason, bad data)."""


class ReviewNotPendingError(DecisionError):
    """A decision on a review that is no longer pending.

    Attributes:
        review_id: the review.
        status: its status now.
        decided_by: who decided it (``system`` for deadlines).
        decided_at: when, ISO 8601 in UTC.
    """

    def __init__(self, review_id: str, status: str, decided_by: str | None, decided_at: str | None):
        self.review_id = review_id
        self.status = status
        self.decided_by = decided_by
        self.decided_at = decided_at
        if status == "decided":
            msg = (
                f"review {review_id} was already decided by {decided_by} at {decided_at}; "
                "nothing was changed"
            )
        else:
            msg = f"review {review_id} is {status}, not pending; nothing was changed"
        super().__init__(msg)


class VoteError(DecisionError):
    """A vote on a multi-approver review that is refused: the person voted already
    (names when), or it is not their group's turn (names what the review waits for)."""


class ReviewClaimedError(DecisionError):
    """A claim on a review someone else holds ("assign to me" in a reviewer's inbox).

    Attributes:
        review_id: the review.
        holder: the user who holds it now.
    """

    def __init__(self, review_id: str, holder: str):
        self.review_id = review_id
        self.holder = holder
        super().__init__(
            f"review {review_id} is claimed by {holder}; ask {holder} or an admin to release "
            "it (nothing was changed)"
        )


class AccessError(LoopgateError):
    """A user may not do this (unknown user, wrong role, wrong team, bad password)."""


class StoreError(LoopgateError):
    """The database file cannot be used (locked, newer schema, corrupt)."""


class DatabaseLockedError(StoreError):
    """Another process holds the database file."""
