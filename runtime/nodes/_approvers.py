"""Who must approve a review: the ``approvers`` policy of a checkpoint, and its tally.

A policy says how many people's votes close a review and whose count:

* ``first`` (the default): the first answer wins, as for any checkpoint; no votes.
* ``quorum``: ``count`` approvals from the people in ``of`` or the members of ``team``.
* ``all``: an approval from every person in ``of`` (or every member of ``team``).
* ``sequence``: the ``steps`` in order (first the manager, then finance); each step is a
  small quorum of its own (``count`` of its ``of`` or ``team``), and step k's people vote
  only once step k-1 is satisfied.

With ``reject_ends`` (the default) one rejection closes the review as rejected; without
it a review closes as rejected only once the approvals it needs can no longer be reached.

The tally is pure: votes in, where the review stands out (:func:`tally`). The engine
(``runtime.engine.votes``) holds the review, records each vote and settles the review
with the closing vote.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ApproverMode = Literal["first", "quorum", "all", "sequence"]
VOTE_ACTIONS = ("approve", "reject")
"""The actions that count as votes on a multi-approver review."""


class ApproverGroup(BaseModel):
    """Whose approvals count: named users (``of``) or the members of a ``team``."""

    model_config = ConfigDict(extra="forbid")

    of: list[str] = Field(default_factory=list, description="The users who may approve.")
    team: str | None = Field(None, description="Or: the team whose members may approve.")
    count: int | None = Field(
        None, ge=1, le=100, description="Approvals needed (default: 1 in a step, all in all)."
    )
    name: str | None = Field(None, description="What to call this group, e.g. finance.")

    def label(self) -> str:
        """The group's name for messages: its name, its team or its people."""
        if self.name:
            return self.name
        if self.team:
            return f"team {self.team}"
        return ", ".join(self.of) or "anyone"


class ApproverStep(ApproverGroup):
    """One step of a sequence: ``count`` (default 1) approvals from ``of`` or ``team``."""


class ApproverPolicy(ApproverGroup):
    """How many people must approve, and whose votes count (see the module docstring)."""

    mode: ApproverMode = Field("first", description="first, quorum, all or sequence.")
    reject_ends: bool = Field(
        True,
        description="One rejection ends the review as rejected; off: only when the "
        "approvals needed can no longer be reached.",
    )
    steps: list[ApproverStep] = Field(
        default_factory=list, description="For sequence: the groups in order."
    )

    @model_validator(mode="after")
    def _consistent(self) -> ApproverPolicy:
        if self.mode == "first":
            return self
        if self.mode == "sequence":
            if not self.steps:
                raise ValueError("approvers: mode sequence needs steps, e.g. [{team: finance}]")
            if self.of or self.team or self.count:
                raise ValueError(
                    "approvers: mode sequence takes its people from steps; move of, team "
                    "and count into the steps"
                )
            for i, step in enumerate(self.steps, start=1):
                _check_group(step, f"step {i}")
            return self
        if self.steps:
            raise ValueError(f"approvers: steps are for mode sequence, not {self.mode}")
        _check_group(self, f"mode {self.mode}")
        if self.mode == "quorum" and self.count is None:
            raise ValueError("approvers: mode quorum needs count, e.g. count: 2")
        if self.mode == "all" and self.count is not None:
            raise ValueError("approvers: mode all counts every person; leave count out")
        return self

    @property
    def multi(self) -> bool:
        """Whether votes are counted (any mode but ``first``)."""
        return self.mode != "first"

    def groups(self) -> list[ApproverGroup]:
        """The groups that vote in order: the steps, or the policy itself."""
        return list(self.steps) if self.mode == "sequence" else [self]

    def first_team(self) -> str | None:
        """The team the review goes to first (the first group's), if it names one."""
        groups = self.groups()
        return groups[0].team if groups else None

    def describe(self) -> str:
        """The policy in words: ``2 of team finance``, ``all of ann, bob``,
        ``in turn: 1 of managers, then 1 of finance``."""
        if self.mode == "first":
            return "the first answer decides"
        if self.mode == "sequence":
            parts = [f"{s.count or 1} of {s.label()}" for s in self.steps]
            text = "in turn: " + ", then ".join(parts)
        elif self.mode == "all":
            text = f"all of {self.label()}"
        else:
            text = f"{self.count} of {self.label()}"
        return text + ("; one rejection ends it" if self.reject_ends else "")


def _check_group(group: ApproverGroup, where: str) -> None:
    """A group names its people one way, and cannot need more people than it lists."""
    if bool(group.of) == bool(group.team):
        raise ValueError(f"approvers {where}: name the people with either of or team, not both")
    if len(set(group.of)) != len(group.of):
        raise ValueError(f"approvers {where}: a person is listed twice in of")
    if group.of and group.count is not None and group.count > len(group.of):
        raise ValueError(
            f"approvers {where}: count {group.count} is more than the {len(group.of)} people in of"
        )


@dataclass(frozen=True, slots=True)
class Vote:
    """One person's vote on a review."""

    voter: str
    action: str  # approve or reject
    at: datetime
    step: int = 0
    note: str | None = None
    reason: str | None = None


@dataclass(slots=True)
class Tally:
    """Where a multi-approver review stands after its votes.

    Attributes:
        outcome: ``approve`` or ``reject`` once the policy closes the review, else None.
        step: the index of the group voting now (the step of a sequence; 0 otherwise).
        approvals: approvals counted in the current group.
        needed: approvals the current group needs in all.
        total: approvals the whole policy needs; ``done`` of them are in.
        remaining: a sentence on what is still needed ("1 more approval from finance").
    """

    outcome: str | None
    step: int
    approvals: int
    needed: int
    total: int
    done: int
    remaining: str
    voters: list[str] = field(default_factory=list)


def group_size(group: ApproverGroup, members: Sequence[str]) -> int:
    """How many people may vote in a group (``members``: the team's, when it has one)."""
    return len(group.of) if group.of else len(members)


def group_needs(group: ApproverGroup, members: Sequence[str], mode: ApproverMode) -> int:
    """The approvals a group needs: its count, everyone for ``all``, 1 in a step."""
    if mode == "all":
        return max(1, group_size(group, members))
    return group.count or 1


def tally(policy: ApproverPolicy, votes: Sequence[Vote], members: dict[str, list[str]]) -> Tally:
    """Count the votes against the policy.

    Args:
        policy: a multi-approver policy (not ``first``).
        votes: the votes so far, oldest first, each with the step it was cast in.
        members: per team named by the policy, the users who may vote for it.

    Returns:
        The tally: closed (``outcome``) or what is still needed.
    """
    groups = policy.groups()
    needs = [group_needs(g, members.get(g.team or "", []), policy.mode) for g in groups]
    total = sum(needs)
    done = 0
    for index, (group, need) in enumerate(zip(groups, needs, strict=True)):
        mine = [v for v in votes if v.step == index]
        approvals = sum(1 for v in mine if v.action == "approve")
        rejections = [v for v in mine if v.action == "reject"]
        size = group_size(group, members.get(group.team or "", []))
        if rejections and (policy.reject_ends or approvals + (size - len(mine)) < need):
            return Tally("reject", index, approvals, need, total, done, "rejected", _names(votes))
        if approvals < need:
            more = need - approvals
            word = "approval" if more == 1 else "approvals"
            text = f"{more} more {word} from {group.label()}"
            if index + 1 < len(groups):
                text += ", then " + ", then ".join(g.label() for g in groups[index + 1 :])
            return Tally(None, index, approvals, need, total, done + approvals, text, _names(votes))
        done += need
    return Tally(
        "approve", len(groups) - 1, needs[-1], needs[-1], total, total, "approved", _names(votes)
    )


def _names(votes: Sequence[Vote]) -> list[str]:
    return [v.voter for v in votes]


def may_vote_in(group: ApproverGroup, user: str, teams: Sequence[str]) -> bool:
    """Whether ``user`` (in ``teams``) is one of the group's people."""
    if group.of:
        return user in group.of
    return group.team in teams


def team_members(policy: ApproverPolicy, users: Sequence[dict]) -> dict[str, list[str]]:
    """Per team the policy names, the users who may vote for it: enabled reviewers and
    admins in that team (``users``: rows with ``name, roles, teams, disabled``)."""
    teams = {g.team for g in policy.groups() if g.team}
    out: dict[str, list[str]] = {t: [] for t in teams}
    for u in users:
        if u.get("disabled") or not {"reviewer", "admin"}.intersection(u.get("roles") or []):
            continue
        for team in teams.intersection(u.get("teams") or []):
            out[team].append(u["name"])
    return out
