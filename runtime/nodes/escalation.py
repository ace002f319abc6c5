"""`escalation`: when a condition holds, a named team must review, with a note."""

from __future__ import annotations

from pydantic import Field

from runtime.expressions import ExpressionError, evaluate, render
from runtime.nodes import register
from runtime.nodes._review import (
    ReviewCheckpoint,
    ReviewParams,
    check_reason,
    decision_output,
    make_request,
    refuse,
    review_check,
    timeout_branch,
)
from runtime.nodes.base import (
    Continue,
    Decision,
    Fail,
    PendingReview,
    RunContext,
    Wait,
    expression_field,
    template_field,
)


class EscalationParams(ReviewParams):
    """Parameters of an escalation: the condition, the team (required) and its note."""

    when: str = expression_field(description="Escalate when this is true, e.g. item.amount > 500.")
    team: str = Field(description="The team that must review escalated items.")  # type: ignore[assignment]
    note: str = template_field("", description="Why it was escalated; shown to the reviewer.")
    reason_codes: list[str] = Field(
        default_factory=list, description="Reasons a reviewer picks from when rejecting."
    )


@register
class Escalation(ReviewCheckpoint):
    """When a condition holds, a named team reviews the item; otherwise it passes."""

    type_name = "escalation"
    family = "checkpoint"
    title = "Escalation"
    description = "When a condition holds, sends the item to a named team with a note."
    icon = "✋"
    Params = EscalationParams
    example_params = {"when": "true", "team": "reviewers"}
    decision_actions = ("approve", "reject", "escalate")

    def branches(self, params: EscalationParams) -> list[str]:
        """``pass``, ``rejected``, and ``timeout`` when a deadline takes it."""
        return ["pass", "rejected", *timeout_branch(params)]

    def check(self, params: EscalationParams, node_ids: set[str]) -> list[str]:
        """The shared review checks."""
        return review_check(params)

    def run(self, ctx: RunContext, params: EscalationParams) -> Continue | Wait | Fail:
        """Pass when the condition is false; otherwise wait for the team with the note."""
        try:
            escalate = bool(evaluate(params.when, ctx.data))
            note = str(render_note(params.note, ctx))
        except ExpressionError as exc:
            return Fail(str(exc))
        if not escalate:
            return Continue("pass", {"escalated": False})
        return Wait(
            make_request(
                ctx,
                params,
                kind=self.type_name,
                actions=["approve", "reject"],
                reason_codes=params.reason_codes,
                note=note or f"escalated because {params.when}",
                show={"condition": params.when},
            )
        )

    def resume(
        self,
        ctx: RunContext,
        params: EscalationParams,
        review: PendingReview,
        decision: Decision,
        by: str,
    ) -> Continue:
        """approve takes ``pass``, reject ``rejected``."""
        if decision.action == "approve":
            return Continue("pass", {"escalated": True, **decision_output(decision, by)})
        if decision.action == "reject":
            check_reason(decision, params.reason_codes)
            return Continue("rejected", {"escalated": True, **decision_output(decision, by)})
        raise refuse(decision.action, self.type_name, review.actions)


def render_note(note: str, ctx: RunContext) -> str:
    """The note template rendered with the run's data ("" for no note).

    Raises:
        ExpressionError: the template fails.
    """
    return "" if not note else str(render(note, ctx.data))
