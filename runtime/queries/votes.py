"""Votes on multi-approver reviews as the Review page and the API show them: the policy in
words, who has voted (name, vote, time), and what is still needed.

A review whose checkpoint has no ``approvers`` policy (or ``first``) has no vote status.
Access is the caller's: pass reviews read through :mod:`runtime.queries.reviews`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from runtime.errors import LoopgateError

if TYPE_CHECKING:
    from runtime.nodes._approvers import ApproverPolicy
    from runtime.store.contract import Store

# runtime.nodes is imported where a policy is read, not here: a read command (`loopgate
# reviews`) loads runtime.queries without the node types (tests/runtime/cli/test_cli_startup).


@dataclass(slots=True)
class VoteRow:
    """One person's vote as shown: who, approve or reject, when, and in which group."""

    voter: str
    action: str
    at: datetime
    group: str
    note: str | None = None
    reason: str | None = None


@dataclass(slots=True)
class VoteStatus:
    """Where a multi-approver review stands.

    Attributes:
        policy: the policy in words (``2 of team finance; one rejection ends it``).
        votes: the votes so far, oldest first.
        done: approvals counted towards the policy; ``total`` are needed in all.
        remaining: what is still needed (``1 more approval from finance``), or the outcome
            (``approved``, ``rejected``) once closed by the votes.
        group: the group whose votes count now.
    """

    policy: str
    votes: list[VoteRow] = field(default_factory=list)
    done: int = 0
    total: int = 0
    remaining: str = ""
    group: str = ""

    @property
    def badge(self) -> str:
        """``2 of 3``: approvals in, of those needed (the queue's marker)."""
        return f"{self.done} of {self.total}"


class _Policies:
    """The policy of each checkpoint, read once per workflow version."""

    def __init__(self, store: Store):
        self._store = store
        self._specs: dict[tuple[str, int], dict[str, Any] | None] = {}
        self._users: list[dict[str, Any]] | None = None

    def policy(self, review: dict[str, Any]) -> ApproverPolicy | None:
        from runtime.nodes import get_node_type
        from runtime.nodes._review import ReviewCheckpoint

        key = (review["workflow_id"], int(review["workflow_version"]))
        if key not in self._specs:
            try:
                self._specs[key] = self._store.get_workflow(*key)["spec"]
            except LoopgateError:
                self._specs[key] = None
        spec = self._specs[key] or {}
        node = next((n for n in spec.get("nodes") or [] if n.get("id") == review["node_id"]), None)
        ntype = get_node_type(review["kind"])
        if node is None or not isinstance(ntype, ReviewCheckpoint):
            return None
        try:
            params = ntype.Params.model_validate(node.get("params") or {})
        except ValueError:
            return None
        return ntype.approver_policy(params)

    def members(self, policy: ApproverPolicy) -> dict[str, list[str]]:
        from runtime.nodes._approvers import team_members

        if not any(g.team for g in policy.groups()):
            return {}
        if self._users is None:
            self._users = self._store.list_users()
        return team_members(policy, self._users)


def _status(policies: _Policies, policy: ApproverPolicy, rows: list[dict[str, Any]]) -> VoteStatus:
    from runtime.nodes._approvers import Vote, tally

    votes = [
        Vote(r["voter"], r["action"], r["voted_at"], r["step"], r["note"], r["reason"])
        for r in rows
    ]
    groups = policy.groups()
    t = tally(policy, votes, policies.members(policy))
    return VoteStatus(
        policy=policy.describe(),
        votes=[
            VoteRow(
                v.voter,
                v.action,
                v.at,
                groups[min(v.step, len(groups) - 1)].label(),
                v.note,
                v.reason,
            )
            for v in votes
        ],
        done=t.done,
        total=t.total,
        remaining=t.remaining,
        group=groups[t.step].label(),
    )


def vote_status(store: Store, review: dict[str, Any]) -> VoteStatus | None:
    """The votes on one review and what is still needed; None when the first answer
    decides it (no ``approvers`` policy).

    Args:
        store: the store.
        review: the review's row, as :func:`runtime.queries.reviews.get_review` gives it.
    """
    policies = _Policies(store)
    policy = policies.policy(review)
    if policy is None:
        return None
    rows = store.review_votes([review["id"]]).get(review["id"], [])
    return _status(policies, policy, rows)


def vote_badges(store: Store, reviews: list[dict[str, Any]]) -> dict[str, str]:
    """The queue's marker for each multi-approver review of a page: ``2 of 3``.

    Args:
        store: the store.
        reviews: the page's review rows.

    Returns:
        Review id -> marker, for the reviews decided by votes only.
    """
    policies = _Policies(store)
    found = {r["id"]: p for r in reviews if (p := policies.policy(r)) is not None}
    if not found:
        return {}
    votes = store.review_votes(list(found))
    return {rid: _status(policies, p, votes.get(rid, [])).badge for rid, p in found.items()}
