"""`confidence_gate`: a person reviews only unsure AI output, plus a random audit sample."""

from __future__ import annotations

import pytest

from runtime.errors import DecisionError
from runtime.nodes import Continue, Fail, TimeoutPolicy, Wait
from runtime.nodes.confidence_gate import sampled_for_audit
from tests.runtime.nodes.helpers import decide, make_ctx, node, run_and_wait

GATE = {
    "of": "intent",
    "threshold": 0.8,
    "team": "triage",
    "editable": ["intent.label"],
    "reason_codes": ["spam"],
}


@pytest.mark.parametrize("confidence", [0.8, 0.95, 1])
def test_gate_passes_confident_output(confidence):
    ntype, p = node("confidence_gate", **GATE)
    assert ntype.branches(p) == ["pass", "rejected"]
    outcome = ntype.run(make_ctx(steps={"intent": {"label": "x", "confidence": confidence}}), p)
    assert outcome == Continue(
        "pass", {"confident": True, "sampled": False, "confidence": float(confidence)}
    )


def test_gate_stops_unsure_output():
    ctx = make_ctx(steps={"intent": {"label": "x", "confidence": 0.79}})
    _, _, outcome = run_and_wait("confidence_gate", ctx, **GATE)
    req = outcome.request
    assert req.kind == "confidence_gate"
    assert req.actions == ["approve", "reject", "edit", "escalate"]
    assert "0.79 is below the threshold 0.80" in req.note
    assert req.show["ai_output"] == {"label": "x", "confidence": 0.79}
    assert req.show["confident"] is False and req.show["sampled"] is False
    assert [(f.name, f.value) for f in req.form] == [("intent.label", "x")]


def test_gate_decisions():
    steps = {"intent": {"label": "x", "confidence": 0.5}}
    ctx = make_ctx(steps=steps)
    ntype, p, outcome = run_and_wait("confidence_gate", ctx, **GATE)
    res = decide(ntype, p, ctx, outcome, action="approve")
    assert res.branch == "pass" and res.output["confident"] is False
    assert res.output["by"] == "mia"
    with pytest.raises(DecisionError, match="reject needs --reason"):
        decide(ntype, p, ctx, outcome, action="reject")
    assert decide(ntype, p, ctx, outcome, action="reject", reason="spam").branch == "rejected"
    res = decide(ntype, p, ctx, outcome, action="edit", data={"intent.label": "y"})
    assert res.branch == "pass"
    assert steps["intent"]["label"] == "y"
    assert res.output["corrections"][0]["before"] == "x"


@pytest.mark.parametrize(
    ("steps", "fragment"),
    [
        ({}, "no confidence from node 'intent'"),
        ({"intent": {"label": "x"}}, "no confidence"),
        ({"intent": "text"}, "no confidence"),
        ({"intent": {"confidence": "high"}}, "is not a number"),
    ],
)
def test_gate_fails_without_a_confidence(steps, fragment):
    ntype, p = node("confidence_gate", **GATE)
    outcome = ntype.run(make_ctx(steps=steps), p)
    assert isinstance(outcome, Fail) and fragment in outcome.error


def test_gate_reads_a_custom_confidence_field():
    ntype, p = node("confidence_gate", of="x", threshold=0.5, confidence_field="score")
    assert ntype.run(make_ctx(steps={"x": {"score": 0.6}}), p).branch == "pass"


def test_audit_sampling_is_deterministic():
    runs = [f"run_{i:05d}" for i in range(4000)]
    first = [sampled_for_audit(r, "gate", 1, 0.1) for r in runs]
    assert first == [sampled_for_audit(r, "gate", 1, 0.1) for r in runs]
    share = sum(first) / len(runs)
    assert 0.08 < share < 0.12
    assert not any(sampled_for_audit(r, "gate", 1, 0.0) for r in runs[:200])
    assert all(sampled_for_audit(r, "gate", 1, 1.0) for r in runs[:200])
    # The flip depends on the node and the visit too, not only on the run.
    assert first != [sampled_for_audit(r, "other", 1, 0.1) for r in runs]
    assert first != [sampled_for_audit(r, "gate", 2, 0.1) for r in runs]
    # A lower rate samples a subset of a higher one (same coin).
    low = [sampled_for_audit(r, "gate", 1, 0.05) for r in runs]
    assert all(f for f, lo in zip(first, low, strict=True) if lo)


def test_gate_sends_sampled_confident_output_to_review():
    runs = [f"run_{i}" for i in range(200)]
    sampled = next(r for r in runs if sampled_for_audit(r, "n", 1, 0.3))
    not_sampled = next(r for r in runs if not sampled_for_audit(r, "n", 1, 0.3))
    ntype, p = node("confidence_gate", of="intent", threshold=0.8, sample_rate=0.3)
    steps = {"intent": {"confidence": 0.99}}
    outcome = ntype.run(make_ctx(steps=steps, run_id=sampled), p)
    assert isinstance(outcome, Wait)
    assert "random audit sample (30% of confident outputs)" in outcome.request.note
    assert outcome.request.show["sampled"] is True
    # The same run at the same node is sampled the same way every time.
    assert isinstance(ntype.run(make_ctx(steps=steps, run_id=sampled), p), Wait)
    assert ntype.run(make_ctx(steps=steps, run_id=not_sampled), p).branch == "pass"
    # Unsure output is reviewed for being unsure, not sampled.
    unsure = ntype.run(make_ctx(steps={"intent": {"confidence": 0.1}}, run_id=sampled), p)
    assert unsure.request.show["sampled"] is False


def test_gate_resume_with_a_string_confidence():
    ctx = make_ctx(steps={"intent": {"confidence": "0.5"}})
    ntype, p, outcome = run_and_wait("confidence_gate", ctx, of="intent", threshold=0.8)
    assert decide(ntype, p, ctx, outcome, action="approve").branch == "pass"


# ---------------------------------------------------------------- the contract


def test_gate_contract():
    ntype, p = node("confidence_gate", **GATE)
    assert (ntype.family, ntype.icon) == ("checkpoint", "✋")
    assert ntype.example_params == {"threshold": 0.8}  # `of` names a node: the designer's
    assert ntype.human and not ntype.guards and not ntype.rates
    assert ntype.decision_actions == ("approve", "reject", "edit", "escalate")
    assert ntype.person_branches(p) == ["pass", "rejected"]
    assert ntype.escalation_team(p) is None
    assert ntype.timeout_policy(p) is None
    # Confident items pass with nobody looking, so a gate never guards.
    assert not ntype.guards_with(p)
    _, p = node("confidence_gate", **GATE, deadline="1d", on_timeout="escalate", escalate_to="qa")
    assert ntype.timeout_policy(p) == TimeoutPolicy("1d", "escalate", "qa")
    assert ntype.escalation_team(p) == "qa"
    assert ntype.person_branches(p) == ["pass", "rejected"]
    assert not ntype.guards_with(p)


def test_gate_decisions_judge_the_node_it_checks():
    ntype, p = node("confidence_gate", **GATE)
    assert ntype.training_targets(p) == ["intent"]
    assert ntype.training_verdict(p, "approve") is True
    assert ntype.training_verdict(p, "reject") is False
    for action in ("edit", "escalate"):  # an edit's corrections are the training data
        assert ntype.training_verdict(p, action) is None


def test_gate_offers_only_its_declared_actions():
    ctx = make_ctx(steps={"intent": {"label": "x", "confidence": 0.1}})
    ntype, _, outcome = run_and_wait("confidence_gate", ctx, **GATE)
    assert set(outcome.request.actions) <= set(ntype.decision_actions)


def test_default_corrections_without_editable():
    from runtime.nodes.confidence_gate import default_corrections

    classify = {"label": "x", "confidence": 0.4, "scores": {"x": 0.4, "y": 0.6}}
    assert default_corrections("intent", classify, 0.8) == ["intent.label"]
    extract = {
        "fields": {
            "amount": {"value": {"amount": 10.0, "currency": "EUR"}, "confidence": 0.5},
            "email": {"value": "a@b.example", "confidence": 0.99},
            "date": {"value": None, "confidence": 0.0},
        }
    }
    assert default_corrections("ex", extract, 0.8) == [
        "ex.fields.amount.value.amount",
        "ex.fields.amount.value.currency",
        "ex.fields.date.value",
    ]
    assert default_corrections("gen", {"text": "hi", "confidence": 0.3}, 0.8) == []
