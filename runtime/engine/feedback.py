"""Training data from a decision: what the AI said next to what the person said."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from runtime.compiler import CompiledNode, Workflow
from runtime.domain import Claim, RunRecord
from runtime.ids import new_id
from runtime.nodes.base import Decision


def feedback_rows(
    run: RunRecord,
    wf: Workflow,
    node: CompiledNode,
    claim: Claim,
    decision: Decision,
    by: str,
    output: dict[str, Any],
    steps_before: dict[str, Any],
    item_before: dict[str, Any],
    now: datetime,
) -> list[dict[str, Any]]:
    """The feedback rows a decision at a checkpoint yields.

    A person's corrections give one row each; otherwise approving or rejecting the
    output a checkpoint is ``of``, or accepting outputs it ``show``s, judges them.
    """
    rows = []

    def row(target: str | None, path: str | None, ai: Any, human: Any) -> dict[str, Any]:
        ai_out = steps_before.get(target) if target else None
        return {
            "id": new_id("fb"),
            "run_id": run.id,
            "review_id": claim.id,
            "workflow_id": wf.id,
            "checkpoint_id": node.id,
            "node_id": target,
            "path": path,
            "input": item_before,
            "ai_output": ai,
            "human_output": human,
            "reviewer": by,
            "action": decision.action,
            "reason": decision.reason,
            "note": decision.note,
            "rating": decision.rating,
            "model": (ai_out or {}).get("model") if isinstance(ai_out, dict) else None,
            "model_version": (ai_out or {}).get("model_version")
            if isinstance(ai_out, dict)
            else None,
            "created_at": now,
        }

    for corr in output.get("corrections") or []:
        rows.append(row(corr["node"], corr["path"], corr["before"], corr["after"]))
    if rows:
        return rows
    # What the checkpoint's decision says about the AI outputs it judged (NodeType contract).
    targets = node.type.training_targets(node.params)
    verdict = node.type.training_verdict(node.params, decision.action) if targets else None
    if verdict is None:
        return rows
    for target in targets:
        if target in steps_before:
            ai = steps_before[target]
            rows.append(row(target, None, ai, ai if verdict else None))
    return rows
