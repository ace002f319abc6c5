"""Escalation chains and SLAs of human checkpoints: what happens while a review waits.

A checkpoint's ``escalation`` is a list of steps, each taken ``after`` a duration counted
``since`` the review was created or since the previous step's time:

* ``remind``: tell the assignee (or the team) again: an audit event, and an email to the
  step's ``to`` addresses through the outbox (Loopgate keeps no email per user);
* ``reassign``: give the review to another ``team`` and/or ``assignee``, with a ``note``;
* ``escalate``: the same, one priority up (the review keeps its id and its place in the
  chain);
* a terminal step, last and at most one: ``timeout`` (the timeout branch), ``approve``,
  ``reject``, or ``default`` (a choice's ``default_option``).

The old fields keep working: ``deadline: 4h`` with ``on_timeout: X`` (and ``escalate_to``)
is the one-step chain ``[{after: 4h, action: X, team: escalate_to}]`` and is applied by the
deadline sweep as before; a checkpoint sets either ``deadline`` or ``escalation``.

``sla`` is the time a review should be decided in: it sets the review's ``due_at`` (shown
as time left in the queue, overdue ones marked and counted on the dashboard) and changes
nothing by itself. Times are calendar time, or working time with ``business_hours``
(:mod:`runtime.nodes._hours`).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from runtime.nodes._hours import add_time
from runtime.nodes.base import parse_duration

StepAction = Literal["remind", "reassign", "escalate", "timeout", "approve", "reject", "default"]
#: The actions that end the chain (and the review): the last step only, at most one.
TERMINAL: tuple[str, ...] = ("timeout", "approve", "reject", "default")
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_EMAIL = re.compile(r"^[^@\s,<>]+@[^@\s,<>]+\.[^@\s,<>]+$")


class EscalationStep(BaseModel):
    """One step of an escalation chain (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    after: str = Field(description="How long after `since`, e.g. 30m, 4h, 2d.")
    since: Literal["created", "previous"] = Field(
        "previous",
        description="Count from when the review was created, or from the previous step.",
    )
    action: StepAction = Field(
        description="remind, reassign, escalate, or last: timeout, approve, reject, default."
    )
    team: str | None = Field(None, description="reassign/escalate: the team that gets it.")
    assignee: str | None = Field(None, description="reassign/escalate: the user that gets it.")
    to: str | None = Field(
        None, description="remind: email addresses to remind, comma-separated (optional)."
    )
    note: str | None = Field(None, description="Shown to the reviewer and in the audit trail.")

    @field_validator("after")
    @classmethod
    def _after(cls, value: str) -> str:
        parse_duration(value)
        return value


def chain_offsets(steps: list[EscalationStep]) -> list[timedelta]:
    """When each step is due, counted from the review's creation."""
    offsets: list[timedelta] = []
    for step in steps:
        base = offsets[-1] if offsets and step.since == "previous" else timedelta(0)
        offsets.append(base + parse_duration(step.after))
    return offsets


def step_due(
    created_at: datetime, steps: list[EscalationStep], index: int, hours: str | None = None
) -> datetime | None:
    """When step ``index`` is due for a review created at ``created_at`` (None: no more),
    in calendar time or, with ``hours``, in business hours."""
    if index >= len(steps):
        return None
    return add_time(created_at, chain_offsets(steps)[index], hours)


def check_chain(
    steps: list[EscalationStep], *, has_default: bool, deadline: str | None
) -> list[str]:
    """The problems of a chain, one clear message each (empty: fine).

    Args:
        steps: the chain.
        has_default: whether the checkpoint has a default decision (a choice's
            ``default_option``).
        deadline: the checkpoint's old ``deadline`` field (a chain replaces it).
    """
    if not steps:
        return []
    problems = []
    if deadline:
        problems.append(
            "escalation: set either deadline/on_timeout or an escalation chain, not both "
            "(a deadline is the one-step chain [{after: DEADLINE, action: ON_TIMEOUT}])"
        )
    offsets = chain_offsets(steps)
    for i, step in enumerate(steps):
        where = f"escalation step {i + 1} ({step.action})"
        if step.action in TERMINAL and i != len(steps) - 1:
            problems.append(f"{where} ends the review, so it must be the last step")
        if i and offsets[i] <= offsets[i - 1]:
            problems.append(
                f"{where} is due {_fmt(offsets[i])} after creation, not after step {i} "
                f"({_fmt(offsets[i - 1])}); order the steps by time"
            )
        if step.action in ("reassign", "escalate"):
            if not step.team and not step.assignee:
                problems.append(f"{where} needs a team or an assignee to give the review to")
        elif step.team or step.assignee:
            problems.append(f"{where} takes no team or assignee (only reassign/escalate do)")
        for label, name in (("team", step.team), ("assignee", step.assignee)):
            if name and not _NAME.match(name):
                problems.append(f"{where}: {label} {name!r} is not a name (letters, digits, _ . -)")
        if step.to:
            if step.action != "remind":
                problems.append(f"{where} takes no 'to' (only remind sends email)")
            bad = [a for a in _addresses(step.to) if not _EMAIL.match(a)]
            if bad:
                problems.append(f"{where}: {bad[0]!r} in 'to' is not an email address")
        if step.action == "default" and not has_default:
            problems.append(
                f"{where}: this checkpoint has no default decision (only a choice with "
                "default_option has); end with timeout, approve or reject"
            )
    return problems


def terminal_step(steps: list[EscalationStep]) -> EscalationStep | None:
    """The chain's last step when it ends the review, else None."""
    return steps[-1] if steps and steps[-1].action in TERMINAL else None


def addresses(text: str | None) -> list[str]:
    """The email addresses of a step's ``to`` (comma-separated)."""
    return _addresses(text) if text else []


def _addresses(text: str) -> list[str]:
    return [a.strip() for a in text.split(",") if a.strip()]


def _fmt(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 86400 == 0:
        return f"{seconds // 86400}d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    return f"{seconds // 60}m"
