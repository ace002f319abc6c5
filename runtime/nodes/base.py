"""What every node type is made of: params model, branches, outcomes, run context."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from runtime.errors import Problem
    from runtime.settings import OutboundPolicy

Family = Literal["flow", "ai", "checkpoint", "action"]
Priority = Literal["low", "normal", "high", "urgent"]
ReviewAction = Literal[
    "approve", "reject", "edit", "escalate", "submit", "accept", "revise", "choose"
]
#: ``default`` takes the checkpoint's own default decision (a ``choice``'s default option).
OnTimeout = Literal["timeout", "approve", "reject", "escalate", "default"]
#: What most checkpoints may do at a deadline: all but ``default`` (they have no default).
ReviewTimeout = Literal["timeout", "approve", "reject", "escalate"]

#: The icon of a node type that declares none, by family (and for an unknown family).
FAMILY_ICONS: dict[str, str] = {"flow": "🔀", "ai": "🤖", "checkpoint": "✋", "action": "⚡"}
UNKNOWN_ICON = "❔"


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
    """The node failed: the run takes the node's ``error`` branch where one is connected,
    else it fails with this message (a failed run can be retried from this node)."""

    error: str


Outcome = Continue | Wait | Fail


# ---------------------------------------------------------------- branches

#: The branch a node that can fail takes when its work fails (``Fail``), if it is connected;
#: unconnected, the run fails with the node's message (see ``NodeType.failure_branch``).
ERROR_BRANCH = "error"
#: The branch such a node takes when its work succeeds.
NEXT_BRANCH = "next"


def default_branch(branches: list[str]) -> str | None:
    """The branch an edge without a ``branch`` stands for, given its source's branches.

    Args:
        branches: the source node's branches (``NodeType.branches``).

    Returns:
        The only branch of a node with one; ``next`` on a node whose branches are ``next``
        and ``error``; None when the edge must name one (or nothing may leave the node).
    """
    if len(branches) == 1:
        return branches[0]
    return NEXT_BRANCH if sorted(branches) == sorted((NEXT_BRANCH, ERROR_BRANCH)) else None


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
    """What a checkpoint asks a person, stored as a pending review.

    Attributes:
        kind: the checkpoint's ``type_name``.
        actions: the actions this review offers (a subset of the type's decision_actions).
        team: the team whose queue gets the review.
        assignee: one user who should decide it, if any.
        priority: queue priority.
        instructions: what the reviewer should check (rendered).
        note: why the run stopped here.
        reason_codes: the reasons a rejection picks from.
        options: the options a ``choose`` decision picks from (a ``choice``'s branches).
        form: the fields a reviewer edits or fills.
        show: the context put in front of the reviewer.
        deadline: when the review expires (None: never).
        on_timeout: what happens at the deadline (see :class:`TimeoutPolicy`).
        escalate_to: the team an escalation goes to by default.
        next_step_at: when the first step of the escalation chain is due (None: no chain).
        due_at: when the SLA says it should be decided (None: no SLA).
    """

    kind: str
    actions: list[ReviewAction]
    team: str | None = None
    assignee: str | None = None
    priority: Priority = "normal"
    instructions: str = ""
    note: str | None = None
    reason_codes: list[str] = Field(default_factory=list)
    options: list[str] = Field(default_factory=list)
    form: list[FormField] = Field(default_factory=list)
    show: dict[str, Any] = Field(default_factory=dict)
    deadline: datetime | None = None
    on_timeout: str | None = None
    escalate_to: str | None = None
    next_step_at: datetime | None = None
    due_at: datetime | None = None


class Decision(BaseModel):
    """A person's (or the sweeper's) answer to a review."""

    model_config = ConfigDict(extra="forbid")

    action: ReviewAction
    data: dict[str, Any] = Field(default_factory=dict)
    reason: str | None = None
    note: str | None = None
    rating: int | None = Field(None, ge=1, le=5)
    team: str | None = Field(None, description="Target team of an escalation.")
    option: str | list[str] | None = Field(
        None, description="The option(s) a choose decision picks (a choice's branches)."
    )


@dataclass(slots=True)
class PendingReview:
    """A review as a checkpoint sees it when a decision arrives."""

    id: str
    kind: str
    team: str | None
    reason_codes: list[str]
    form: list[dict[str, Any]]
    actions: list[str]
    options: list[str] = field(default_factory=list)


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

    def outbound_policy(self) -> OutboundPolicy:
        """The server's allow-lists: model key variables, model base URLs, webhook hosts."""
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
        """``{item, steps, review}``: the names templates and conditions may use."""
        return {"item": self.item, "steps": self.steps, "review": self.review}

    def outbound_policy(self) -> OutboundPolicy:
        """The server's allow-lists: the services', else the environment's (a run with no
        services is held to the same lists)."""
        get = getattr(self.services, "outbound_policy", None)
        if callable(get):
            return get()
        from runtime.settings import outbound_policy

        return outbound_policy()


# ---------------------------------------------------------------- node types


@dataclass(frozen=True, slots=True)
class TimeoutPolicy:
    """What happens when a checkpoint's review is still pending at its deadline.

    Attributes:
        deadline: how long the review may wait, as the designer wrote it (``4h``, ``2d``).
        on_timeout: ``timeout`` takes the node's ``timeout`` branch; ``approve`` and
            ``reject`` decide by default; ``default`` takes the checkpoint's own default
            decision (:meth:`NodeType.default_decision`); ``escalate`` hands the review
            to ``escalate_to``.
        escalate_to: the team that gets the review when ``on_timeout`` is ``escalate``.
    """

    deadline: str
    on_timeout: OnTimeout
    escalate_to: str | None = None

    @property
    def duration(self) -> timedelta:
        """The deadline as a timedelta, counted from when the review was created."""
        return parse_duration(self.deadline)

    @property
    def approves_by_default(self) -> bool:
        """True when the deadline approves: the item then passes with nobody looking."""
        return self.on_timeout == "approve"


class NodeType:
    """A node type: subclass it in one module of ``runtime/nodes`` and decorate with
    ``@register``. The palette, the forms, validation and the docs pick it up.

    Everything a type means is declared here, so nothing outside ``runtime/nodes`` needs
    per-type knowledge: the engine, compiler, CLI and builder read these attributes and
    methods instead of a node's params.

    Attributes:
        type_name: the ``type`` written in workflow files.
        family: ``flow``, ``ai``, ``checkpoint`` or ``action`` (palette group and colour).
        title: the short name shown in the palette and on the canvas.
        description: one sentence shown in the palette.
        icon: an emoji shown on the canvas; a type that declares none gets its family's.
        Params: the pydantic params model (``extra="forbid"``, every field described).
        example_params: values for the required parameters of a freshly added node, so it
            validates (a parameter naming another node is left to the designer).
        human: True for checkpoints that stop for a person.
        guards: True for checkpoints that stop every item for a person, so they guard the
            sensitive actions after them (see :meth:`guards_with`).
        decision_actions: every action a person may take at a review of this type (empty
            for a node that never waits); one review offers a subset.
        rates: True when decisions carry a 1-5 rating and a free-text correction.
        external: True for nodes whose effect leaves the database (they send an
            idempotency key).
        event_kind: the kind of audit event a finished step writes.
    """

    type_name: ClassVar[str]
    family: ClassVar[Family]
    title: ClassVar[str]
    description: ClassVar[str]
    icon: ClassVar[str] = ""
    Params: ClassVar[type[NodeParams]] = NodeParams
    example_params: ClassVar[dict[str, Any]] = {}
    # True for checkpoints that stop for a person (audit is a checkpoint that never stops).
    human: ClassVar[bool] = False
    # True for checkpoints that stop every item for a person (so they guard what follows);
    # a confidence gate or an escalation lets some items pass without anyone, so they do not.
    guards: ClassVar[bool] = False
    decision_actions: ClassVar[tuple[ReviewAction, ...]] = ()
    rates: ClassVar[bool] = False
    # True for nodes whose effect leaves the database (HTTP): they send an idempotency key.
    external: ClassVar[bool] = False
    # The kind of audit event a finished step writes (audit nodes write "audit").
    event_kind: ClassVar[str] = "step"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        family = getattr(cls, "family", None)
        if not cls.icon and family is not None:
            cls.icon = FAMILY_ICONS.get(family, UNKNOWN_ICON)

    def branches(self, params: NodeParams) -> list[str]:
        """The branches this node can take with these params ([] for an end node).

        A node that can fail declares ``error`` next to ``next`` (``["next", "error"]``): an
        edge without a branch then means ``next`` (:func:`default_branch`), and ``error``
        is its :meth:`failure_branch`.
        """
        return ["next"]

    def failure_branch(self, params: NodeParams) -> str | None:
        """The branch a failure of this node (``Fail``) takes, when it is connected.

        Unconnected, it is allowed: a failure then fails the run with the node's message,
        the run can be retried from this node, and the checker warns.

        Returns:
            ``error`` when the node's branches include it (AI and action nodes); None when
            a failure always fails the run.
        """
        return ERROR_BRANCH if ERROR_BRANCH in self.branches(params) else None

    def check(self, params: NodeParams, node_ids: set[str]) -> list[str]:
        """Problems beyond the params model's own validation (cross-field, references).

        Args:
            params: the node's validated params.
            node_ids: the ids of every node of the workflow.

        Returns:
            One message per problem; [] when there is none.
        """
        return []

    def check_outbound(self, params: NodeParams, policy: OutboundPolicy) -> list[Problem]:
        """Problems with what the node would reach outside the server (a key variable, a
        URL), against the server's allow-lists. Nodes check again when they run.

        Args:
            params: the node's validated params.
            policy: the server's allow-lists (``runtime.settings.OutboundPolicy``).

        Returns:
            One problem per refusal, naming the field (the compiler adds the node); [] when
            there is none.
        """
        return []

    def run(self, ctx: RunContext, params: NodeParams) -> Outcome:
        """Do the node's work for one run.

        Args:
            ctx: the run's data and where effects and messages are collected.
            params: the node's validated params.

        Returns:
            ``Continue`` with the branch and output, ``Wait`` with a review request, or
            ``Fail`` with a message (never an exception for an expected failure).
        """
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

    # ------------------------------------------------------------ what a checkpoint means

    def person_branches(self, params: NodeParams) -> list[str]:
        """The branches a person's decision can take (never ``timeout`` or ``error``).

        Args:
            params: the node's validated params.

        Returns:
            For a checkpoint that stops for a person, its branches other than ``timeout``
            and ``error`` (e.g. ``approved``, ``rejected``); [] for every other node.
        """
        if not self.human:
            return []
        return [b for b in self.branches(params) if b not in ("timeout", "error")]

    def timeout_policy(self, params: NodeParams) -> TimeoutPolicy | None:
        """The deadline of this node's reviews and what happens at it.

        Returns:
            None when the node sets no deadline (or never waits).
        """
        return None

    def guards_with(self, params: NodeParams) -> bool:
        """Whether every item passing this node on a person's branch was decided by one.

        True for a guarding checkpoint (:attr:`guards`) unless its deadline approves by
        default; the compiler also ignores its ``timeout`` branch (see
        :meth:`person_branches`).
        """
        policy = self.timeout_policy(params)
        return self.guards and not (policy is not None and policy.approves_by_default)

    def default_decision(self, params: NodeParams) -> Decision | None:
        """The decision ``on_timeout: default`` takes at the deadline, or None.

        Only checkpoints with a natural default have one (a ``choice``'s default option);
        the checker refuses ``on_timeout: default`` on the others.
        """
        return None

    def escalation_team(self, params: NodeParams) -> str | None:
        """The team an ``escalate`` decision goes to when the decision names none.

        Returns:
            The node's configured team, or None (then the decision must name a team).
        """
        return None

    def training_targets(self, params: NodeParams) -> list[str]:
        """The node ids whose outputs this checkpoint's decisions judge (training data).

        A decision that edits fields records each correction as training data instead;
        otherwise, when :meth:`training_verdict` gives a verdict for the decision's action,
        the engine writes one row per target that has an output in the run (AI output
        next to the person's answer).

        Returns:
            [] by default: decisions here judge no node's output.
        """
        return []

    def training_verdict(self, params: NodeParams, action: str) -> bool | None:
        """What a decision with ``action`` says about the :meth:`training_targets`.

        Returns:
            True: the person accepted the outputs as they are (the row's human output is
            the AI output); False: the person turned them down (human output None);
            None: the decision says nothing about them (no row).
        """
        return None


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
    """The current UTC time as a naive datetime (how the store keeps times)."""
    return datetime.now(UTC).replace(tzinfo=None)
