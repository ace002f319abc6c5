"""What every human checkpoint shares: who reviews, priority, deadline, edits, escalation."""

from __future__ import annotations

import copy
import math
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field, field_validator

from runtime.errors import DecisionError
from runtime.expressions import ExpressionError, render
from runtime.nodes._approvers import ApproverPolicy
from runtime.nodes._chain import (
    EscalationStep,
    chain_offsets,
    check_chain,
    terminal_step,
)
from runtime.nodes._hours import add_time, parse_business_hours
from runtime.nodes.base import (
    Decision,
    FormField,
    NodeParams,
    NodeType,
    Priority,
    ReviewRequest,
    ReviewTimeout,
    RunContext,
    TimeoutPolicy,
    parse_duration,
    template_field,
)


class ReviewParams(NodeParams):
    """The parameters every human checkpoint shares: who reviews, priority, deadline."""

    instructions: str = template_field("", description="What the reviewer should check (template).")
    team: str | None = Field(None, description="The team whose queue gets the review.")
    assignee: str | None = Field(None, description="One user who should decide it, if any.")
    priority: Priority = Field("normal", description="Queue priority.")
    deadline: str | None = Field(
        None, description="How long the review may wait, e.g. 4h or 2d; empty for no deadline."
    )
    on_timeout: ReviewTimeout = Field(
        "timeout",
        description="At the deadline: take the timeout branch, decide by default, or escalate.",
    )
    escalate_to: str | None = Field(
        None, description="Team that gets the review when it times out with on_timeout=escalate."
    )
    escalation: list[EscalationStep] = Field(
        default_factory=list,
        max_length=20,
        description=(
            "Escalation chain: steps taken while the review waits (remind, reassign, "
            "escalate; last: timeout, approve, reject or default). Replaces deadline."
        ),
    )
    sla: str | None = Field(
        None, description="How long a decision should take, e.g. 8h; the queue marks it overdue."
    )
    business_hours: str | None = Field(
        None,
        description=(
            "Count the SLA and escalation steps in working time, e.g. Mon-Fri 09:00-17:00 "
            "Europe/Berlin (1d is then 24 working hours); empty: calendar time."
        ),
    )
    allow_self_approval: bool = Field(
        False,
        description=(
            "Let the person who started a run decide its review here too. Off by default: "
            "separation of duties means whoever starts a run does not approve it, whatever "
            "their role."
        ),
    )

    @field_validator("business_hours")
    @classmethod
    def _hours(cls, value: str | None) -> str | None:
        if value:
            parse_business_hours(value)
        return value or None

    @field_validator("deadline", "sla")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value:
            parse_duration(value)
        return value or None


def review_check(params: ReviewParams) -> list[str]:
    """Cross-field problems of the shared review parameters."""
    problems = []
    if params.on_timeout == "escalate" and not params.escalate_to:
        problems.append("on_timeout is escalate, so escalate_to must name a team")
    if params.on_timeout != "timeout" and not params.deadline:
        problems.append(
            f"on_timeout is {params.on_timeout}, but no deadline is set"
            + (
                f"; with an escalation chain, end it with a step {{action: {params.on_timeout}}}"
                if params.escalation
                else ""
            )
        )
    has_default = bool(getattr(params, "default_option", None))
    problems += check_chain(params.escalation, has_default=has_default, deadline=params.deadline)
    if params.business_hours:
        longest = [parse_duration(params.sla)] if params.sla else []
        if params.escalation and not problems:
            longest.append(max(chain_offsets(params.escalation)))
        try:
            add_time(
                datetime(2000, 1, 1), max(longest, default=timedelta(0)), params.business_hours
            )
        except ValueError as exc:
            problems.append(f"business_hours: {exc}")
        if not longest:
            problems.append("business_hours is set, but there is no sla or escalation to count")
    return problems


def timeout_branch(params: ReviewParams) -> list[str]:
    """``["timeout"]`` when a deadline or the escalation chain's last step takes the
    timeout branch, else []."""
    last = terminal_step(params.escalation)
    if last is not None:
        return ["timeout"] if last.action == "timeout" else []
    return ["timeout"] if params.deadline and params.on_timeout == "timeout" else []


class ReviewCheckpoint(NodeType):
    """Base of the checkpoints that stop for a person with :class:`ReviewParams`.

    It reads the shared parameters for the contract: ``escalate_to`` is the default
    escalation team and ``deadline``/``on_timeout``/``escalate_to`` the timeout policy;
    being ``human``, every branch but ``timeout`` is a person's (:meth:`person_branches`).
    """

    human = True

    def timeout_policy(self, params: ReviewParams) -> TimeoutPolicy | None:
        """The params' deadline and what happens at it; None without a deadline."""
        last = terminal_step(params.escalation)
        if last is not None:
            seconds = int(chain_offsets(params.escalation)[-1].total_seconds())
            return TimeoutPolicy(f"{seconds}s", last.action, None)
        if not params.deadline:
            return None
        return TimeoutPolicy(params.deadline, params.on_timeout, params.escalate_to)

    def allows_self_approval(self, params: ReviewParams) -> bool:
        """``allow_self_approval``: whether the run's starter may decide its review here."""
        return params.allow_self_approval

    def escalation_team(self, params: ReviewParams) -> str | None:
        """``escalate_to``: where an ``escalate`` decision that names no team goes."""
        return params.escalate_to

    def approver_policy(self, params: ReviewParams) -> ApproverPolicy | None:
        """Who must approve when several people vote (``approvers``); None when the first
        answer decides (the default, and every type without the parameter)."""
        policy = getattr(params, "approvers", None)
        return policy if isinstance(policy, ApproverPolicy) and policy.multi else None


def make_request(
    ctx: RunContext,
    params: ReviewParams,
    *,
    kind: str,
    actions: list[str],
    reason_codes: list[str] | None = None,
    options: list[str] | None = None,
    form: list[FormField] | None = None,
    note: str | None = None,
    show: dict[str, Any] | None = None,
) -> ReviewRequest:
    """A review request with the shared fields filled from params and the run's data."""
    try:
        instructions = str(render(params.instructions, ctx.data) or "")
    except ExpressionError as exc:
        instructions = f"(instructions could not be rendered: {exc})"
    deadline = ctx.now + parse_duration(params.deadline) if params.deadline else None
    hours = params.business_hours
    first_step = (
        add_time(ctx.now, chain_offsets(params.escalation)[0], hours) if params.escalation else None
    )
    return ReviewRequest(
        kind=kind,
        actions=[*actions, "escalate"],
        team=params.team,
        assignee=params.assignee,
        priority=params.priority,
        instructions=instructions,
        note=note,
        reason_codes=reason_codes or [],
        options=options or [],
        form=form or [],
        show=show or {},
        deadline=deadline,
        on_timeout=params.on_timeout if deadline else None,
        escalate_to=params.escalate_to,
        next_step_at=first_step,
        due_at=add_time(ctx.now, parse_duration(params.sla), hours) if params.sla else None,
    )


def read_path(ctx: RunContext, path: str) -> Any:
    """The value at ``field`` (an item field) or ``node.field`` (a step output; deeper
    keys walk into it: ``extract.fields.amount.value``)."""
    if "." not in path:
        return ctx.item.get(path)
    node, *keys = path.split(".")
    value: Any = ctx.steps.get(node) or {}
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _write_path(ctx: RunContext, path: str, value: Any) -> str | None:
    """Set the value at ``path`` (see :func:`read_path`); returns the step's node, if any."""
    if "." not in path:
        ctx.item[path] = value
        return None
    node, *keys = path.split(".")
    target = ctx.steps.setdefault(node, {})
    for key in keys[:-1]:
        if not isinstance(target.get(key), dict):
            target[key] = {}
        target = target[key]
    target[keys[-1]] = value
    return node


def label_options(ctx: RunContext, path: str) -> list[str] | None:
    """The labels a classifier could have given, when ``path`` is its ``<node>.label``.

    An ``ai_classify`` output carries a score per label it knows (``scores``); those are
    the choices a reviewer correcting the label picks from. None for any other path.
    """
    node, _, key = path.partition(".")
    output = ctx.steps.get(node)
    if key != "label" or not isinstance(output, dict):
        return None
    scores = output.get("scores")
    if not isinstance(scores, dict) or not scores:
        return None
    options = [str(label) for label in scores]
    current = output.get("label")
    if isinstance(current, str) and current not in options:
        options.append(current)
    return options


def edit_form(ctx: RunContext, editable: list[str]) -> list[FormField]:
    """Form fields prefilled with the current values of the editable paths: a number stays
    a number, a classifier's label is a select of its labels."""
    fields = []
    for path in editable:
        value = read_path(ctx, path)
        options = label_options(ctx, path)
        if options is not None:
            fields.append(FormField(name=path, type="select", options=options, value=value))
            continue
        kind = (
            "number"
            if isinstance(value, int | float) and not isinstance(value, bool)
            else ("boolean" if isinstance(value, bool) else "string")
        )
        fields.append(FormField(name=path, type=kind, value=value))
    return fields


def apply_edits(
    ctx: RunContext,
    editable: list[str],
    data: dict[str, Any],
    form: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Apply a reviewer's edits to the run's item and step outputs.

    Args:
        ctx: the run's data (changed in place).
        editable: the paths the reviewer may change.
        data: the changed values by path.
        form: the review's form. A select field (a classifier's label) takes a non-empty
            text: one of its options, or a label the model does not know yet (retraining
            learns it once two corrections give it; see docs/models.md).

    Returns:
        One correction per changed value: ``{path, node, before, after}``.

    Raises:
        DecisionError: when data names a field the reviewer may not edit, or a value does
            not fit its field (its type, an empty label, NaN or infinity for a number).
    """
    if not data:
        raise DecisionError('edit needs --data with the changed fields, e.g. {"amount": 120}')
    allowed = set(editable)
    wrong = sorted(set(data) - allowed)
    if wrong:
        may = ", ".join(editable) if editable else "none"
        raise DecisionError(f"field(s) {', '.join(wrong)} may not be edited here; editable: {may}")
    labels = {f["name"] for f in form or [] if f.get("type") == "select"}
    corrections = []
    for path, new in data.items():
        if path in labels and (not isinstance(new, str) or not new.strip()):
            raise DecisionError(
                f"field {path} is a label: give one as text, e.g. one of the model's "
                "labels (nothing was changed)"
            )
        before = copy.deepcopy(read_path(ctx, path))
        new = _same_type(path, before, new)
        if before == new:
            continue
        node = _write_path(ctx, path, new)
        corrections.append({"path": path, "node": node, "before": before, "after": new})
    return corrections


def _same_type(path: str, before: Any, new: Any) -> Any:
    """An edited value must keep the field's type (a number stays a number, a finite one)."""
    if isinstance(new, float) and not math.isfinite(new):
        raise DecisionError(
            f"field {path}: {new!r} is not a number a person can mean; give a finite number "
            "(nothing was changed)"
        )
    if before is None or new is None:
        return new
    if isinstance(before, bool):
        if isinstance(new, bool):
            return new
        if str(new).lower() in ("true", "false"):
            return str(new).lower() == "true"
    elif isinstance(before, int | float):
        if isinstance(new, int | float) and not isinstance(new, bool):
            return new
        try:
            number = float(new)
        except (TypeError, ValueError):
            pass
        else:
            if math.isfinite(number):
                return int(number) if isinstance(before, int) and number.is_integer() else number
    elif isinstance(before, str):
        if isinstance(new, str):
            return new
        if isinstance(new, int | float) and not isinstance(new, bool):
            return str(new)
    else:
        return new
    kind = (
        "boolean"
        if isinstance(before, bool)
        else "number"
        if isinstance(before, int | float)
        else "text"
    )
    raise DecisionError(
        f"field {path} holds a {kind}; {new!r} is not a {kind} (nothing was changed)"
    )


def check_reason(decision: Decision, reason_codes: list[str]) -> None:
    """A rejection needs a reason from the node's list when it has one."""
    if not reason_codes:
        return
    if not decision.reason:
        raise DecisionError(f"reject needs --reason, one of: {', '.join(reason_codes)}")
    if decision.reason not in reason_codes:
        raise DecisionError(
            f"reason {decision.reason!r} is not one of this checkpoint's: {', '.join(reason_codes)}"
        )


def decision_output(decision: Decision, by: str, **extra: Any) -> dict[str, Any]:
    """The output a checkpoint leaves under steps.<id>: who decided what, and why."""
    out = {
        "action": decision.action,
        "by": by,
        "data": decision.data,
        "reason": decision.reason,
        "note": decision.note,
    }
    if decision.rating is not None:
        out["rating"] = decision.rating
    out.update(extra)
    return out


def refuse(action: str, review_kind: str, allowed: list[str]) -> DecisionError:
    """The error for an action this review does not offer, naming the ones it does."""
    return DecisionError(
        f"a {review_kind} review cannot take action {action!r}; use one of: {', '.join(allowed)}"
    )
