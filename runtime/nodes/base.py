"""What every node type is made of: params model, branches, outcomes, run context."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

Family = Literal["flow", "ai", "checkpoint", "action"]
Priority = Literal["low", "normal", "high", "urgent"]
ReviewAction = Literal["approve", "reject", "edit", "escalate", "submit", "accept", "revise"]


def template_field(default: Any = ..., *, description: str, **kwargs: Any) -> Any:
    """A params field whose string values are Jinja2 templates (checked at compile time)."""
    extra = {"template": True, **kwargs.pop("json_schema_extra", {})}
    return Field(default, description=description, json_schema_extra=extra, **kwargs)


def expression_field(default: Any = ..., *, description: str, **kwargs: Any) -> Any:
    """A params field holding a condition evaluated by the safe evaluator."""
    extra = {"expression": True, **kwargs.pop("json_schema_extra", {})}
    return Field(default, description=description, json_schema_extra=extra, **kwargs)


def node_ref_field(default: Any = ..., *, description: str, **kwargs: Any) -> Any:
    """A params field naming another node of the same workflow."""
    extra = {"node_ref": True, **kwargs.pop("json_schema_extra", {})}
    return Field(default, description=description, json_schema_extra=extra, **kwargs)


class NodeParams(BaseModel):
    """Base of every params model: unknown parameters are errors."""

    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- outcomes


@dataclass(frozen=True, slots=True)
class Continue:
    """The node finished and takes `branch` (None for a node with a single branch)."""

    branch: str | None
    output: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Wait:
    """The run stops here until a person decides the review."""

    request: ReviewRequest


@dataclass(frozen=True, slots=True)
class Fail:
    """The node failed; the run fails with this message (or takes `error` where declared)."""

    error: str


Outcome = Continue | Wait | Fail


# ---------------------------------------------------------------- reviews


class FormField(BaseModel):
    """One field of the form a reviewer fills or edits."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Field name (a path such as amount or intent.label).")
    type: Literal["string", "number", "integer", "boolean", "text", "select"] = Field(
        "string", description="Input widget and value type."
    )
    label: str | None = Field(None, description="Label shown next to the field.")
    required: bool = Field(False, description="The form cannot be submitted without it.")
    options: list[Any] | None = Field(None, description="Choices for a select field.")
    description: str = Field("", description="Help text.")
    value: Any = Field(None, description="The current value, prefilled in the form.")


class ReviewRequest(BaseModel):
    """What a checkpoint asks a person, stored as a pending review."""

    kind: str
    actions: list[ReviewAction]
    team: str | None = None
    assignee: str | None = None
    priority: Priority = "normal"
    instructions: str = ""
    note: str | None = None
    reason_codes: list[str] = Field(default_factory=list)
    form: list[FormField] = Field(default_factory=list)
    show: dict[str, Any] = Field(default_factory=dict)
    deadline: datetime | None = None
    on_timeout: str | None = None
    escalate_to: str | None = None


class Decision(BaseModel):
    """A person's (or the sweeper's) answer to a review."""

    model_config = ConfigDict(extra="forbid")

    action: ReviewAction
    data: dict[str, Any] = Field(default_factory=dict)
    reason: str | None = None
    note: str | None = None
    rating: int | None = Field(None, ge=1, le=5)
    team: str | None = Field(None, description="Target team of an escalation.")


@dataclass(slots=True)
class PendingReview:
    """A review as a checkpoint sees it when a decision arrives."""

    id: str
    kind: str
    team: str | None
    reason_codes: list[str]
    form: list[dict[str, Any]]
    actions: list[str]


class NodeServices(Protocol):
    """What a node may reach outside its run: record reads, trained models, settings.

    Nodes never see a store; the engine passes one of these in ``RunContext.services``
    (``runtime.services.Services``), or None when a run has no services.
    """

    settings: dict[str, Any]

    @property
    def models(self) -> Any:
        """The model registry (``runtime.models.registry.ModelRegistry``)."""
        ...

    def get_record(self, table: str, key: str) -> dict[str, Any] | None:
        """A live record of the built-in record store, or None."""
        ...


@dataclass(slots=True)
class RunContext:
    """A run's data as a node sees it. ``data`` is what templates and conditions get."""

    run_id: str
    workflow_id: str
    node_id: str
    item: dict[str, Any]
    steps: dict[str, Any]
    review: dict[str, Any] | None
    now: datetime
    visits: int = 1
    services: NodeServices | None = None
    # Writes to the built-in record store, committed in the same transaction as the step.
    effects: list[dict[str, Any]] = field(default_factory=list)
    # Messages to send (the outbox), committed with the step and sent after the commit.
    outbox: list[dict[str, Any]] = field(default_factory=list)

    @property
    def data(self) -> dict[str, Any]:
        return {"item": self.item, "steps": self.steps, "review": self.review}


# ---------------------------------------------------------------- node types


class NodeType:
    """A node type: subclass it in one module of ``runtime/nodes`` and decorate with
    ``@register``. The palette, the forms, validation and the docs pick it up."""

    type_name: ClassVar[str]
    family: ClassVar[Family]
    title: ClassVar[str]
    description: ClassVar[str]
    Params: ClassVar[type[NodeParams]] = NodeParams
    # True for checkpoints that stop for a person (audit is a checkpoint that never stops).
    human: ClassVar[bool] = False
    # True for checkpoints that stop every item for a person (so they guard what follows);
    # a confidence gate or an escalation lets some items pass without anyone, so they do not.
    guards: ClassVar[bool] = False
    # True for nodes whose effect leaves the database (HTTP): they send an idempotency key.
    external: ClassVar[bool] = False
    # The kind of audit event a finished step writes (audit nodes write "audit").
    event_kind: ClassVar[str] = "step"

    def branches(self, params: NodeParams) -> list[str]:
        """The branches this node can take with these params ([] for an end node)."""
        return ["next"]

    def check(self, params: NodeParams, node_ids: set[str]) -> list[str]:
        """Problems beyond the params model's own validation (cross-field, references)."""
        return []

    def run(self, ctx: RunContext, params: NodeParams) -> Outcome:
        raise NotImplementedError

    def resume(
        self,
        ctx: RunContext,
        params: NodeParams,
        review: PendingReview,
        decision: Decision,
        by: str,
    ) -> Continue:
        """Turn a decision into the branch to take. Checkpoints override this.

        Raises:
            DecisionError: when the decision does not fit this review.
        """
        raise NotImplementedError(f"{self.type_name} does not take decisions")


# ---------------------------------------------------------------- durations

_DURATION = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hour|hours|d|day|days|w|week|weeks)\s*$"
)
_UNIT = {
    "s": 1,
    "sec": 1,
    "m": 60,
    "min": 60,
    "h": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
}


def parse_duration(text: str) -> timedelta:
    """``30m``, ``4h``, ``2d``, ``1w`` as a timedelta.

    Raises:
        ValueError: for anything else.
    """
    match = _DURATION.match(text or "")
    if not match:
        raise ValueError(f"{text!r} is not a duration; write e.g. 30m, 4h, 2d or 1w")
    return timedelta(seconds=float(match.group(1)) * _UNIT[match.group(2)])


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
