"""`confidence_gate`: a person reviews only unsure AI output, plus a random audit sample."""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import Field

from runtime.nodes import register
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
from runtime.nodes.base import (
    Continue,
    Decision,
    Fail,
    PendingReview,
    RunContext,
    Wait,
    node_ref_field,
)


class ConfidenceGateParams(ReviewParams):
    """Parameters of a confidence gate: which node, the threshold, the audit sample."""

    of: str = node_ref_field(description="The node whose confidence is checked, e.g. intent.")
    threshold: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Outputs at or above this confidence pass without a person "
        "(give this or target_error).",
    )
    target_error: float | None = Field(
        None,
        gt=0.0,
        lt=1.0,
        description="Instead of a threshold: the error rate allowed among outputs that pass "
        "without a person, e.g. 0.02; the threshold is chosen from the model version's "
        "held-out calibration (and, once there are enough, reviewers' decisions here).",
    )
    sample_rate: float = Field(
        0.0, ge=0.0, le=1.0, description="Share of confident outputs sent to review anyway (audit)."
    )
    confidence_field: str = Field(
        "confidence", description="The output field holding the confidence."
    )
    reason_codes: list[str] = Field(
        default_factory=list, description="Reasons a reviewer picks from when rejecting."
    )
    editable: list[str] = Field(
        default_factory=list,
        description="Fields the reviewer may correct, e.g. intent.label (recorded as feedback). "
        "Empty: the checked output's label (ai_classify) or its unsure fields (ai_extract).",
    )


def sampled_for_audit(run_id: str, node_id: str, visits: int, rate: float) -> bool:
    """A reproducible coin flip per run and node: the same run is always sampled the same.

    Args:
        run_id: the run.
        node_id: the gate.
        visits: how often the run reached the gate (a loop flips a new coin each time).
        rate: the share of confident outputs to sample, 0 to 1.

    Returns:
        True when this visit is in the audit sample; a lower rate samples a subset.
    """
    if rate <= 0:
        return False
    digest = hashlib.blake2b(f"{run_id}/{node_id}/{visits}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < rate


def gate_threshold(
    ctx: RunContext, params: ConfidenceGateParams, output: dict[str, Any]
) -> tuple[float | None, dict[str, Any] | None]:
    """The threshold a gate applies: its ``threshold``, or the one chosen for its
    ``target_error`` from the checked model version (see runtime.models.gate_threshold).

    Returns:
        ``(threshold, choice)``: ``choice`` is None for a fixed threshold, else the
        choice and its evidence; ``threshold`` is None when no threshold meets the target.

    Raises:
        ValueError: ``target_error`` on output that is not a builtin classifier's, or no
            model registry in this run; the message says what to do.
    """
    if params.target_error is None:
        return params.threshold, None
    model, version = output.get("model"), output.get("model_version")
    if output.get("provider") != "builtin" or not isinstance(version, int) or not model:
        raise ValueError(
            f"target_error needs a builtin classifier's output from {params.of!r} (with its "
            "model and model_version); set a fixed threshold for other outputs"
        )
    registry = getattr(ctx.services, "models", None)
    if registry is None:
        raise ValueError(
            "target_error needs the model store to choose a threshold; create the engine "
            "with services=runtime.services.default_services(store)"
        )
    choice = registry.gate_threshold(
        str(model),
        version,
        target=params.target_error,
        workflow_id=ctx.workflow_id,
        node_id=ctx.node_id,
    )
    return choice.threshold, choice.model_dump()


def default_corrections(of: str, output: dict[str, Any], threshold: float) -> list[str]:
    """What a reviewer may correct at a gate whose designer listed no ``editable`` fields.

    A classifier's output (``label`` with ``scores``, as ``ai_classify`` gives): its label.
    An extractor's (``fields`` of ``{value, confidence}``, as ``ai_extract`` gives): each
    field found with a confidence below the threshold, or not found; a structured value
    (an amount with its currency) by its parts.

    Args:
        of: the checked node.
        output: its output.
        threshold: the gate's threshold.

    Returns:
        Editable paths (``of.label``, ``of.fields.<name>.value[.<part>]``); none for other
        outputs.
    """
    if isinstance(output.get("label"), str) and isinstance(output.get("scores"), dict):
        return [f"{of}.label"]
    fields = output.get("fields")
    if not isinstance(fields, dict):
        return []
    paths = []
    for name, found in fields.items():
        if not isinstance(found, dict) or "value" not in found:
            continue
        try:
            sure = float(found.get("confidence")) >= threshold
        except (TypeError, ValueError):
            sure = False
        if sure and found["value"] is not None:
            continue
        value = found["value"]
        base = f"{of}.fields.{name}.value"
        if isinstance(value, dict) and value:
            paths += [
                f"{base}.{part}" for part, v in value.items() if not isinstance(v, dict | list)
            ]
        elif not isinstance(value, list):
            paths.append(base)
    return paths


@register
class ConfidenceGate(ReviewCheckpoint):
    """Confident AI output passes; unsure output and a random audit sample go to a person.

    Its decisions are training data for the node it checks: approve keeps that node's
    output, reject turns it down, an edit records the corrected fields.
    """

    type_name = "confidence_gate"
    family = "checkpoint"
    title = "Confidence gate"
    description = (
        "Passes confident AI output; sends low-confidence output, and a random audit sample, "
        "to a person."
    )
    icon = "✋"
    Params = ConfidenceGateParams
    example_params = {"threshold": 0.8}
    decision_actions = ("approve", "reject", "edit", "escalate")

    def branches(self, params: ConfidenceGateParams) -> list[str]:
        """``pass``, ``rejected``, and ``timeout`` when a deadline takes it."""
        return ["pass", "rejected", *timeout_branch(params)]

    def check(self, params: ConfidenceGateParams, node_ids: set[str]) -> list[str]:
        """The shared review checks, and ``of`` must name a node."""
        problems = review_check(params)
        if (params.threshold is None) == (params.target_error is None):
            problems.append(
                "give exactly one of threshold (e.g. 0.8) and target_error (e.g. 0.02), "
                f"not {'both' if params.threshold is not None else 'neither'}"
            )
        if params.of not in node_ids:
            problems.append(f"of names {params.of!r}, which is not a node of this workflow")
        return problems

    def training_targets(self, params: ConfidenceGateParams) -> list[str]:
        """``[of]``: the node whose output (and confidence) this gate judged."""
        return [params.of]

    def training_verdict(self, params: ConfidenceGateParams, action: str) -> bool | None:
        """approve accepts the judged output, reject turns it down; other actions say nothing."""
        return {"approve": True, "reject": False}.get(action)

    def run(self, ctx: RunContext, params: ConfidenceGateParams) -> Continue | Wait | Fail:
        """Pass confident, unsampled output; otherwise wait for a person with the reason."""
        output = ctx.steps.get(params.of)
        if not isinstance(output, dict) or params.confidence_field not in output:
            return Fail(
                f"no {params.confidence_field} from node {params.of!r}: "
                "the gate must come after the node it checks"
            )
        try:
            confidence = float(output[params.confidence_field])
        except (TypeError, ValueError):
            return Fail(f"{params.of}.{params.confidence_field} is not a number")
        try:
            threshold, choice = gate_threshold(ctx, params, output)
        except ValueError as exc:
            return Fail(f"node {ctx.node_id}: {exc}")
        confident = threshold is not None and confidence >= threshold
        sampled = confident and sampled_for_audit(
            ctx.run_id, ctx.node_id, ctx.visits, params.sample_rate
        )
        facts = {"confident": confident, "sampled": sampled, "confidence": confidence}
        if choice is not None:
            facts = {**facts, "threshold": threshold, "threshold_choice": choice}
        if confident and not sampled:
            return Continue("pass", facts)
        if sampled:
            why = f"random audit sample ({params.sample_rate:.0%} of confident outputs)"
        elif threshold is None:
            why = (
                f"no threshold keeps the error under the target {params.target_error:.1%} "
                "for this model version: every item goes to review"
            )
        else:
            why = f"confidence {confidence:.2f} is below the threshold {threshold:.2f}"
        editable = params.editable or default_corrections(
            params.of, output, 1.0 if threshold is None else threshold
        )
        actions = ["approve", "reject", *(["edit"] if editable else [])]
        return Wait(
            make_request(
                ctx,
                params,
                kind=self.type_name,
                actions=actions,
                reason_codes=params.reason_codes,
                form=edit_form(ctx, editable),
                note=why,
                show={"ai_output": output, "threshold": threshold, **facts},
            )
        )

    def resume(
        self,
        ctx: RunContext,
        params: ConfidenceGateParams,
        review: PendingReview,
        decision: Decision,
        by: str,
    ) -> Continue:
        """approve and edit take ``pass`` (edits are applied and recorded as feedback),
        reject ``rejected``."""
        output = ctx.steps.get(params.of) or {}
        try:
            confidence = float(output.get(params.confidence_field))
        except (TypeError, ValueError):
            confidence = None
        try:
            threshold, _ = gate_threshold(ctx, params, output)
        except ValueError:
            threshold = None
        facts = {
            "confident": None not in (confidence, threshold) and confidence >= threshold,
            "confidence": confidence,
        }
        if decision.action == "approve":
            return Continue("pass", {**facts, **decision_output(decision, by)})
        if decision.action == "reject":
            check_reason(decision, params.reason_codes)
            return Continue("rejected", {**facts, **decision_output(decision, by)})
        # What the review offered to correct: its form (the designer's editable fields,
        # else the label or the unsure fields of the checked output).
        editable = [f["name"] for f in review.form] or params.editable
        if decision.action == "edit" and editable:
            corrections = apply_edits(ctx, editable, decision.data, review.form)
            out = decision_output(decision, by, corrections=corrections)
            return Continue("pass", {**facts, **out})
        raise refuse(decision.action, self.type_name, review.actions)
