"""`approval`: a person approves, rejects (with a reason code) or edits then approves."""

from __future__ import annotations

from pydantic import Field

from runtime.nodes import register
from runtime.nodes._approvers import ApproverPolicy
from runtime.nodes._review import (
    ReviewCheckpoint,
    ReviewParams,
    apply_edits,
    check_reason,
    decision_output,
    edit_form,
    make_request,
    refuse,
    review_check,
    timeout_branch,
)
from runtime.nodes.base import Continue, Decision, PendingReview, RunContext, Wait


class ApprovalParams(ReviewParams):
    """Parameters of an approval: the review's shared ones, reason codes, editable fields."""

    reason_codes: list[str] = Field(
        default_factory=list, description="Reasons a reviewer picks from when rejecting."
    )
    editable: list[str] = Field(
        default_factory=list,
        description="Fields the reviewer may change: item fields (amount) or step outputs "
        "(intent.label).",
    )
    approvers: ApproverPolicy = Field(
        default_factory=ApproverPolicy,
        description="Who must approve: the first answer (default), a quorum, all of a list, "
        "or a sequence, e.g. {mode: quorum, count: 2, team: finance, reject_ends: false} or "
        "{mode: sequence, steps: [{team: managers}, {team: finance}]}.",
    )


@register
class Approval(ReviewCheckpoint):
    """Every item stops for a person: approve, reject with a reason, or edit then approve."""

    type_name = "approval"
    family = "checkpoint"
    title = "Approval"
    description = "Stops for a person to approve, reject with a reason, or edit then approve."
    icon = "✋"
    Params = ApprovalParams
    guards = True
    decision_actions = ("approve", "reject", "edit", "escalate")

    def branches(self, params: ApprovalParams) -> list[str]:
        """``approved``, ``rejected``, and ``timeout`` when a deadline takes it."""
        return ["approved", "rejected", *timeout_branch(params)]

    def check(self, params: ApprovalParams, node_ids: set[str]) -> list[str]:
        """The shared review checks, and editable step fields must name nodes."""
        problems = review_check(params) + approver_problems(params)
        for path in params.editable:
            node = path.partition(".")[0] if "." in path else None
            if node and node not in node_ids:
                problems.append(f"editable field {path!r} names no node {node!r}")
        return problems

    def run(self, ctx: RunContext, params: ApprovalParams) -> Wait:
        """Wait for a person: approve, reject, edit (when fields are editable), escalate."""
        actions = ["approve", "reject", *(["edit"] if params.editable else [])]
        request = make_request(
            ctx,
            params,
            kind=self.type_name,
            actions=actions,
            reason_codes=params.reason_codes,
            form=edit_form(ctx, params.editable),
        )
        if params.approvers.multi:  # votes are approve or reject; the first group's queue
            request.actions = ["approve", "reject"]
            request.team = params.team or params.approvers.first_team()
        return Wait(request)

    def resume(
        self,
        ctx: RunContext,
        params: ApprovalParams,
        review: PendingReview,
        decision: Decision,
        by: str,
    ) -> Continue:
        """approve and edit take ``approved`` (edits applied and recorded), reject ``rejected``."""
        if decision.action == "approve":
            return Continue("approved", decision_output(decision, by))
        if decision.action == "reject":
            check_reason(decision, params.reason_codes)
            return Continue("rejected", decision_output(decision, by))
        if decision.action == "edit" and params.editable:
            corrections = apply_edits(ctx, params.editable, decision.data, review.form)
            return Continue("approved", decision_output(decision, by, corrections=corrections))
        raise refuse(decision.action, self.type_name, review.actions)


def approver_problems(params: ApprovalParams) -> list[str]:
    """What does not fit with several approvers: edits (a vote approves or rejects), an
    escalation (a decision for everyone), or a team other than the voters' (they would
    not see the review)."""
    policy = params.approvers
    if not policy.multi:
        return []
    problems = []
    if params.editable:
        problems.append(
            f"approvers mode {policy.mode}: each person votes approve or reject, so "
            "editable fields cannot be used; leave editable empty"
        )
    first = policy.first_team()
    if policy.mode != "sequence" and params.team and first and params.team != first:
        problems.append(
            f"team {params.team} differs from the approvers' team {first}: they could not "
            "see the review; leave team empty or make them the same"
        )
    if policy.mode == "sequence" and params.team:
        problems.append(
            "approvers mode sequence moves the review from group to group; leave team empty"
        )
    return problems
