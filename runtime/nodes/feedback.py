"""`feedback`: a person rates the work and accepts it or sends it back for a revision."""

from __future__ import annotations

from pydantic import Field

from runtime.errors import DecisionError
from runtime.nodes import register
from runtime.nodes._review import (
    ReviewCheckpoint,
    ReviewParams,
    decision_output,
    make_request,
    refuse,
    review_check,
    timeout_branch,
)
from runtime.nodes.base import Continue, Decision, PendingReview, RunContext, Wait


class FeedbackParams(ReviewParams):
    """Parameters of a feedback checkpoint: how many revisions, which outputs to show."""

    max_revisions: int = Field(
        3,
        ge=0,
        le=100,
        description="How many times an item may be sent back before it must be accepted.",
    )
    show: list[str] = Field(
        default_factory=list,
        description="Step outputs to put in front of the reviewer, e.g. draft (a node id).",
    )


@register
class Feedback(ReviewCheckpoint):
    """A person rates the work and accepts it or sends it back (revise-and-resubmit).

    Its decisions are training data for the nodes it shows: accept keeps their outputs,
    revise turns them down.
    """

    type_name = "feedback"
    family = "checkpoint"
    title = "Feedback"
    description = "A person rates the output (1-5), then accepts it or asks for a revision."
    icon = "✋"
    Params = FeedbackParams
    guards = True
    decision_actions = ("accept", "revise", "escalate")
    rates = True

    def branches(self, params: FeedbackParams) -> list[str]:
        """``accepted``, ``revise``, and ``timeout`` when a deadline takes it."""
        return ["accepted", "revise", *timeout_branch(params)]

    def check(self, params: FeedbackParams, node_ids: set[str]) -> list[str]:
        """The shared review checks, and ``show`` must name nodes."""
        problems = review_check(params)
        problems += [
            f"show names {n!r}, which is not a node" for n in params.show if n not in node_ids
        ]
        return problems

    def training_targets(self, params: FeedbackParams) -> list[str]:
        """The ``show`` entries: the nodes whose outputs the reviewer rated."""
        return list(params.show)

    def training_verdict(self, params: FeedbackParams, action: str) -> bool | None:
        """accept keeps the shown outputs; any other decision turns them down."""
        return action == "accept"

    def run(self, ctx: RunContext, params: FeedbackParams) -> Wait:
        """Wait for a rating with the shown outputs; revise only while revisions remain."""
        revisions = ctx.visits - 1
        actions = ["accept", *(["revise"] if revisions < params.max_revisions else [])]
        show = {n: ctx.steps.get(n) for n in params.show}
        note = f"revision {revisions} of at most {params.max_revisions}" if revisions else None
        return Wait(
            make_request(
                ctx,
                params,
                kind=self.type_name,
                actions=actions,
                note=note,
                show={**show, "revisions": revisions},
            )
        )

    def resume(
        self,
        ctx: RunContext,
        params: FeedbackParams,
        review: PendingReview,
        decision: Decision,
        by: str,
    ) -> Continue:
        """accept takes ``accepted``; revise (with a note) takes ``revise``."""
        revisions = ctx.visits - 1
        extra = {"rating": decision.rating, "correction": decision.note, "revisions": revisions}
        if decision.action == "accept":
            return Continue("accepted", decision_output(decision, by, **extra))
        if decision.action == "revise":
            if revisions >= params.max_revisions:
                raise DecisionError(
                    f"this item was already revised {revisions} time(s), the most this "
                    "checkpoint allows; accept it or escalate it"
                )
            if not decision.note and not decision.data:
                raise DecisionError("revise needs --note saying what to change")
            return Continue("revise", decision_output(decision, by, **extra))
        raise refuse(decision.action, self.type_name, review.actions)
