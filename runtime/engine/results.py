"""What the engine's public methods return: run results, receipts, batch errors, sweeps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

# A batch's progress callback: (items done, items in all).
Progress = Callable[[int, int], None]


class RunResult(BaseModel):
    """Where a run stands after a start, a decision, a sweep or a retry."""

    run_id: str
    workflow_id: str
    workflow_version: int
    status: str
    waiting_on: str | None = None
    review_id: str | None = None
    team: str | None = None
    result: str | None = None
    error: str | None = None
    step_count: int = 0
    outputs: dict[str, Any] = Field(default_factory=dict)
    votes: str | None = None  # a vote that left a multi-approver review open: what is needed


class DecisionReceipt(BaseModel):
    """A decision that is durable (journaled); its run goes on in the background."""

    review_id: str
    run_id: str
    action: str
    decided_by: str
    decided_at: datetime


class BatchItemError(BaseModel):
    """An item of a batch that was not started, and why."""

    index: int
    error: str


class SweepReport(BaseModel):
    """What one sweep did."""

    timed_out: list[str] = Field(default_factory=list)
    decided: list[str] = Field(default_factory=list)
    escalated: list[str] = Field(default_factory=list)
    reminded: list[str] = Field(default_factory=list)
    reassigned: list[str] = Field(default_factory=list)
    failed: list[str] = Field(default_factory=list)
    runs: list[RunResult] = Field(default_factory=list)
