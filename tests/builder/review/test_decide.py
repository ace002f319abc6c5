"""builder.review.decide and bulk: the actions offered come from the node registry, each
action sends only what it takes, and bulk decisions report each review they could not take."""

from __future__ import annotations

from typing import Any

import pytest

from builder.review import bulk, decide, detail
from builder.shell import resources
from runtime.engine.results import RunResult
from runtime.nodes import get_node_type
from runtime.queries import reviews

REVIEW: dict[str, Any] = {
    "id": "rev_1",
    "kind": "approval",
    "actions": ["escalate", "reject", "approve"],
    "reason_codes": ["too_high", "no_receipt"],
    "form": [{"name": "amount", "type": "number", "value": 70}],
    "context": {},
}


def test_actions_come_from_the_registry_in_its_order() -> None:
    assert decide.offered(REVIEW) == ["approve", "reject", "escalate"]
    for kind in ("approval", "confidence_gate", "feedback", "human_input", "escalation"):
        actions = get_node_type(kind).decision_actions
        review = {**REVIEW, "kind": kind, "actions": list(reversed(actions))}
        assert decide.offered(review) == list(actions)
        assert all(a in decide.LABELS for a in actions)
    assert decide.rates({"kind": "feedback"}) and not decide.rates(REVIEW)


def test_an_approval_never_carries_a_reject_reason() -> None:
    inputs = decide.Inputs(reason="too_high", note=" fine ")
    decision = decide.build(REVIEW, "approve", inputs, [])
    assert (decision.action, decision.reason, decision.note) == ("approve", None, "fine")


def test_reject_needs_a_reason_from_the_list() -> None:
    with pytest.raises(
        ValueError, match=r"pick a reason to reject \(one of: too_high, no_receipt\)"
    ):
        decide.build(REVIEW, "reject", decide.Inputs(), [])
    with pytest.raises(ValueError, match="pick a reason"):
        decide.build(REVIEW, "reject", decide.Inputs(reason="made_up"), [])
    decision = decide.build(REVIEW, "reject", decide.Inputs(reason="no_receipt", note="x"), [])
    assert (decision.reason, decision.note) == ("no_receipt", "x")


def test_edit_sends_only_changed_fields_and_refuses_bad_ones() -> None:
    review = {**REVIEW, "actions": [*REVIEW["actions"], "edit"]}
    with pytest.raises(ValueError, match="no field was changed"):
        decide.build(review, "edit", decide.Inputs(values={"amount": 70}), [])
    with pytest.raises(ValueError, match="amount: 'NaN'"):
        decide.build(review, "edit", decide.Inputs(problems=["amount: 'NaN' is bad"]), [])
    decision = decide.build(review, "edit", decide.Inputs(values={"amount": 90}), [])
    assert decision.data == {"amount": 90}
    with pytest.raises(ValueError, match="offers approve, reject, escalate, not edit"):
        decide.build(REVIEW, "edit", decide.Inputs(values={"amount": 90}), [])


def test_escalate_goes_to_an_existing_team_only() -> None:
    with pytest.raises(ValueError, match="no team was picked; escalate to one of: risk"):
        decide.build(REVIEW, "escalate", decide.Inputs(), ["risk"])
    with pytest.raises(ValueError, match="'ghosts' is not a team; escalate to one of: risk"):
        decide.build(REVIEW, "escalate", decide.Inputs(team="ghosts"), ["risk"])
    decision = decide.build(REVIEW, "escalate", decide.Inputs(team="risk", note="n"), ["risk"])
    assert (decision.team, decision.note) == ("risk", "n")


def test_feedback_rates_and_a_revision_needs_a_note() -> None:
    review = {**REVIEW, "kind": "feedback", "actions": ["accept", "revise"]}
    with pytest.raises(ValueError, match="say in the note what to change"):
        decide.build(review, "revise", decide.Inputs(rating=2), [])
    assert decide.build(review, "accept", decide.Inputs(rating=5), []).rating == 5
    with pytest.raises(ValueError, match="keep it under 5,000"):
        decide.build(review, "accept", decide.Inputs(note="x" * 5_001), [])


def _result(**kw: Any) -> RunResult:
    return RunResult(run_id="run_1", workflow_id="wf", workflow_version=1, **kw)


def test_where_the_run_went_next() -> None:
    waiting = _result(status="waiting", waiting_on="pay", review_id="rev_2", team="finance")
    assert decide.where_next(waiting) == "Run run_1 now waits at pay (review rev_2, team finance)."
    assert decide.where_next(_result(status="succeeded", result="paid")) == (
        "Run run_1 succeeded (paid)."
    )
    assert decide.where_next(_result(status="failed", error="boom")) == "Run run_1 failed: boom"


def test_ai_outputs_and_history_rows() -> None:
    context = {
        "steps": {
            "start": {},
            "classify": {"label": "refund", "confidence": 0.41, "model": "m", "model_version": 3},
            "extract": {"amount": 12, "confidence": 0.9},
        }
    }
    rows = detail.ai_outputs(context)
    assert [r["node"] for r in rows] == ["classify", "extract"]
    assert rows[0]["answer"] == "refund" and rows[0]["model version"] == 3
    assert rows[1]["answer"] == '{"amount": 12}'
    events = [
        {
            "occurred_at": 1,
            "kind": "step",
            "node_id": "a",
            "actor": None,
            "data": {"branch": "next"},
        },
        {"occurred_at": 2, "kind": "review.decided", "node_id": "b", "actor": "rae", "data": {}},
    ]
    assert detail.history_rows(events)[0]["detail"] == "branch: next"
    assert detail.history_rows(events)[1]["by"] == "rae"


def test_bulk_reports_a_review_decided_meanwhile_and_decides_the_rest(seeded: None) -> None:
    engine = resources.engine()
    queue = reviews.review_queue(engine.store, None, team="finance").items
    ids = [r["id"] for r in queue if "approve" in r["actions"]][:3]
    engine.decide(ids[0], {"action": "approve"}, by="ada")
    seen: list[tuple[int, int]] = []
    rae = engine.store.get_user("rae")
    report = bulk.run(rae, ids, decide.Decision(action="approve"), lambda d, t: seen.append((d, t)))
    assert report.done == 2 and seen == [(3, 3)]
    assert [rid for rid, _ in report.failed] == [ids[0]]
    assert "already decided by ada" in report.failed[0][1]
    report = bulk.run({**rae, "name": "nobody"}, ids[1:], decide.Decision(action="approve"))
    assert report.done == 0 and all("unknown user" in why for _, why in report.failed)
