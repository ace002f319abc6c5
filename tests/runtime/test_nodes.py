"""Each node type on its own: run() and resume() with a RunContext, and the params contract."""

from __future__ import annotations

import typing
from datetime import datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel

from runtime.errors import DecisionError
from runtime.nodes import (
    Continue,
    Decision,
    Fail,
    PendingReview,
    RunContext,
    Wait,
    get_node_type,
    node_types,
)
from runtime.nodes.base import parse_duration
from runtime.nodes.confidence_gate import sampled_for_audit

NOW = datetime(2026, 1, 5, 9, 0, 0)
CATALOGUE = {
    "trigger", "end", "condition", "switch", "set", "approval", "confidence_gate", "escalation",
    "feedback", "human_input", "audit", "record_write", "record_delete",
}


def make_ctx(item: dict | None = None, steps: dict | None = None, *, review=None,
             node_id: str = "n", visits: int = 1, run_id: str = "run_test",
             services: Any = None) -> RunContext:
    return RunContext(run_id=run_id, workflow_id="wf", node_id=node_id, item=item or {},
                      steps=steps or {}, review=review, now=NOW, visits=visits,
                      services=services)


def node(type_name: str, **params: Any):
    ntype = get_node_type(type_name)
    assert ntype is not None, type_name
    return ntype, ntype.Params.model_validate(params)


def pending(outcome: Wait) -> PendingReview:
    req = outcome.request
    return PendingReview(id="rev_1", kind=req.kind, team=req.team,
                         reason_codes=list(req.reason_codes),
                         form=[f.model_dump() for f in req.form], actions=list(req.actions))


def run_and_wait(type_name: str, ctx: RunContext, **params: Any):
    ntype, p = node(type_name, **params)
    outcome = ntype.run(ctx, p)
    assert isinstance(outcome, Wait), outcome
    return ntype, p, outcome


def decide(ntype, p, ctx, outcome, by: str = "mia", **decision: Any):
    return ntype.resume(ctx, p, pending(outcome), Decision(**decision), by)


# ---------------------------------------------------------------- registry and params contract


def test_registry_has_the_catalogue():
    types = node_types()
    assert set(types) >= CATALOGUE
    families = [t.family for t in types.values()]
    order = {"flow": 0, "ai": 1, "checkpoint": 2, "action": 3}
    assert families == sorted(families, key=order.__getitem__)
    assert get_node_type("no_such_type") is None
    for name, t in types.items():
        assert t.type_name == name
        assert t.title and t.description
    humans = {n for n, t in types.items() if t.human}
    assert humans >= {"approval", "confidence_gate", "escalation", "feedback", "human_input"}
    assert not {"audit", "trigger", "record_delete", "record_write"} & humans


def _nested_models(annotation: Any) -> list[type[BaseModel]]:
    out = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        out.append(annotation)
    for arg in typing.get_args(annotation):
        out += _nested_models(arg)
    return out


@pytest.mark.parametrize("type_name", list(node_types()))
def test_params_forbid_extra_and_describe_every_field(type_name):
    params = node_types()[type_name].Params
    models, seen = [params], set()
    while models:
        model = models.pop()
        if model in seen:
            continue
        seen.add(model)
        assert model.model_config.get("extra") == "forbid", model.__name__
        for name, info in model.model_fields.items():
            assert info.description and info.description.strip(), f"{model.__name__}.{name}"
            models += _nested_models(info.annotation)
    with pytest.raises(ValueError, match="Extra inputs"):
        params.model_validate({"surely_not_a_param": 1})


def test_review_request_and_decision_forbid_unknown_keys():
    with pytest.raises(ValueError):
        Decision(action="approve", bogus=1)
    with pytest.raises(ValueError):
        Decision(action="maybe")
    with pytest.raises(ValueError):
        Decision(action="accept", rating=6)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800), ("4h", 14400), ("2d", 172800), ("1w", 604800), ("1.5 hours", 5400),
     ("10s", 10)],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "soon", "5", "-1h", "1y", "h4"])
def test_parse_duration_refuses(text):
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


# ---------------------------------------------------------------- flow


def test_trigger():
    ntype, p = node("trigger")
    assert ntype.branches(p) == ["next"]
    assert ntype.run(make_ctx({"a": 1}), p) == Continue("next", {})


def test_end():
    ntype, p = node("end")
    assert ntype.branches(p) == []
    assert ntype.run(make_ctx(), p) == Continue(None, {})
    ntype, p = node("end", result="refunded")
    assert ntype.run(make_ctx(), p) == Continue(None, {"result": "refunded"})


@pytest.mark.parametrize(("amount", "branch"), [(600, "true"), (500, "false"), (10, "false")])
def test_condition(amount, branch):
    ntype, p = node("condition", when="item.amount > 500")
    assert ntype.branches(p) == ["true", "false"]
    outcome = ntype.run(make_ctx({"amount": amount}), p)
    assert outcome == Continue(branch, {"result": branch == "true"})


def test_condition_truthiness_and_failure():
    ntype, p = node("condition", when="item.tags")
    assert ntype.run(make_ctx({"tags": []}), p).branch == "false"
    assert ntype.run(make_ctx({"tags": [1]}), p).branch == "true"
    ntype, p = node("condition", when="item.amount > 500")
    outcome = ntype.run(make_ctx({}), p)
    assert isinstance(outcome, Fail) and "amount" in outcome.error
    outcome = ntype.run(make_ctx({"amount": None}), p)
    assert isinstance(outcome, Fail)


@pytest.mark.parametrize(
    ("label", "branch"),
    [("billing", "billing"), ("technical", "technical"), ("other", "default"), (None, "default"),
     ("Billing", "default")],
)
def test_switch(label, branch):
    ntype, p = node("switch", value="{{ steps.intent.label }}", cases=["billing", "technical"])
    assert ntype.branches(p) == ["billing", "technical", "default"]
    outcome = ntype.run(make_ctx(steps={"intent": {"label": label}}), p)
    assert outcome == Continue(branch, {"value": label})


def test_switch_compares_as_text_and_fails_cleanly():
    ntype, p = node("switch", value="{{ item.n }}", cases=["1", "2"])
    assert ntype.run(make_ctx({"n": 2}), p).branch == "2"
    outcome = ntype.run(make_ctx({}), p)
    assert isinstance(outcome, Fail) and "n" in outcome.error


def test_set():
    ntype, p = node("set", values={"total": "{{ item.a + item.b }}", "label": "sum={{ item.a }}",
                                   "const": 7, "list": ["{{ item.a }}"]})
    outcome = ntype.run(make_ctx({"a": 1, "b": 2}), p)
    assert outcome == Continue("next", {"total": 3, "label": "sum=1", "const": 7, "list": [1]})
    outcome = ntype.run(make_ctx({}), p)
    assert isinstance(outcome, Fail) and "a" in outcome.error


# ---------------------------------------------------------------- approval


APPROVAL = {"team": "managers", "instructions": "{{ item.who }} spent {{ item.amount }}",
            "reason_codes": ["too_much", "wrong"], "editable": ["amount", "intent.label"],
            "priority": "high", "deadline": "2d", "on_timeout": "escalate",
            "escalate_to": "finance"}


def test_approval_run_builds_the_review():
    ctx = make_ctx({"who": "ann", "amount": 70}, {"intent": {"label": "travel"}})
    ntype, p, outcome = run_and_wait("approval", ctx, **APPROVAL)
    req = outcome.request
    assert req.kind == "approval"
    assert req.actions == ["approve", "reject", "edit", "escalate"]
    assert (req.team, req.priority) == ("managers", "high")
    assert req.instructions == "ann spent 70"
    assert req.reason_codes == ["too_much", "wrong"]
    assert [(f.name, f.type, f.value) for f in req.form] == [
        ("amount", "number", 70), ("intent.label", "string", "travel")]
    assert req.deadline == NOW + timedelta(days=2)
    assert (req.on_timeout, req.escalate_to) == ("escalate", "finance")
    assert ntype.branches(p) == ["approved", "rejected"]


def test_approval_without_edits_or_deadline():
    ntype, _, outcome = run_and_wait("approval", make_ctx())
    assert outcome.request.actions == ["approve", "reject", "escalate"]
    assert outcome.request.deadline is None and outcome.request.on_timeout is None
    _, p2 = node("approval", deadline="4h")
    assert ntype.branches(p2) == ["approved", "rejected", "timeout"]


def test_approval_instructions_that_fail_do_not_crash_the_run():
    _, _, outcome = run_and_wait("approval", make_ctx(), instructions="{{ item.missing }}")
    assert "could not be rendered" in outcome.request.instructions


def test_approval_approve_and_reject():
    ctx = make_ctx({"who": "ann", "amount": 70})
    ntype, p, outcome = run_and_wait("approval", ctx, **APPROVAL)
    res = decide(ntype, p, ctx, outcome, action="approve", note="fine")
    assert res.branch == "approved"
    assert res.output == {"action": "approve", "by": "mia", "data": {}, "reason": None,
                          "note": "fine"}
    res = decide(ntype, p, ctx, outcome, action="reject", reason="too_much", note="no")
    assert res.branch == "rejected" and res.output["reason"] == "too_much"


@pytest.mark.parametrize(
    ("decision", "fragment"),
    [
        ({"action": "reject"}, "reject needs --reason, one of: too_much, wrong"),
        ({"action": "reject", "reason": "nope"}, "reason 'nope' is not one of"),
        ({"action": "edit", "data": {"who": "bob"}},
         "who may not be edited here; editable: amount"),
        ({"action": "edit", "data": {}}, "edit needs --data"),
        ({"action": "submit", "data": {"x": 1}}, "cannot take action 'submit'"),
        ({"action": "accept"}, "cannot take action 'accept'"),
    ],
)
def test_approval_refuses_decisions_that_do_not_fit(decision, fragment):
    ctx = make_ctx({"who": "ann", "amount": 70}, {"intent": {"label": "travel"}})
    ntype, p, outcome = run_and_wait("approval", ctx, **APPROVAL)
    with pytest.raises(DecisionError) as info:
        decide(ntype, p, ctx, outcome, **decision)
    assert fragment in str(info.value)
    assert ctx.item == {"who": "ann", "amount": 70}  # nothing changed


def test_approval_reject_without_reason_codes_needs_no_reason():
    ntype, p, outcome = run_and_wait("approval", make_ctx())
    assert decide(ntype, p, make_ctx(), outcome, action="reject").branch == "rejected"


def test_approval_edit_changes_item_and_steps_and_records_corrections():
    ctx = make_ctx({"who": "ann", "amount": 70}, {"intent": {"label": "travel"}})
    ntype, p, outcome = run_and_wait("approval", ctx, **APPROVAL)
    res = decide(ntype, p, ctx, outcome, action="edit",
                 data={"amount": 55, "intent.label": "meals"})
    assert res.branch == "approved"
    assert ctx.item["amount"] == 55
    assert ctx.steps["intent"]["label"] == "meals"
    assert res.output["corrections"] == [
        {"path": "amount", "node": None, "before": 70, "after": 55},
        {"path": "intent.label", "node": "intent", "before": "travel", "after": "meals"},
    ]
    # An unchanged value is not a correction.
    ctx2 = make_ctx({"who": "ann", "amount": 70})
    res = decide(ntype, p, ctx2, outcome, action="edit", data={"amount": 70})
    assert res.output["corrections"] == []


def test_approval_edit_is_refused_when_nothing_is_editable():
    ntype, p, outcome = run_and_wait("approval", make_ctx({"a": 1}))
    with pytest.raises(DecisionError, match="cannot take action 'edit'"):
        decide(ntype, p, make_ctx({"a": 1}), outcome, action="edit", data={"a": 2})


# ---------------------------------------------------------------- confidence gate

GATE = {"of": "intent", "threshold": 0.8, "team": "triage", "editable": ["intent.label"],
        "reason_codes": ["spam"]}


@pytest.mark.parametrize("confidence", [0.8, 0.95, 1])
def test_gate_passes_confident_output(confidence):
    ntype, p = node("confidence_gate", **GATE)
    assert ntype.branches(p) == ["pass", "rejected"]
    outcome = ntype.run(make_ctx(steps={"intent": {"label": "x", "confidence": confidence}}), p)
    assert outcome == Continue("pass", {"confident": True, "sampled": False,
                                        "confidence": float(confidence)})


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
    [({}, "no confidence from node 'intent'"),
     ({"intent": {"label": "x"}}, "no confidence"),
     ({"intent": "text"}, "no confidence"),
     ({"intent": {"confidence": "high"}}, "is not a number")],
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


# ---------------------------------------------------------------- escalation

ESC = {"when": "item.amount > 500", "team": "finance", "priority": "high",
       "note": "refund of {{ item.amount }} is over the limit", "reason_codes": ["fraud"]}


def test_escalation_passes_when_the_condition_is_false():
    ntype, p = node("escalation", **ESC)
    assert ntype.branches(p) == ["pass", "rejected"]
    assert ntype.run(make_ctx({"amount": 500}), p) == Continue("pass", {"escalated": False})


def test_escalation_waits_for_the_team_with_a_note():
    ctx = make_ctx({"amount": 900})
    ntype, p, outcome = run_and_wait("escalation", ctx, **ESC)
    req = outcome.request
    assert (req.kind, req.team, req.priority) == ("escalation", "finance", "high")
    assert req.note == "refund of 900 is over the limit"
    assert req.actions == ["approve", "reject", "escalate"]
    res = decide(ntype, p, ctx, outcome, action="approve")
    assert res.branch == "pass" and res.output["escalated"] is True and res.output["by"] == "mia"
    with pytest.raises(DecisionError, match="reject needs --reason"):
        decide(ntype, p, ctx, outcome, action="reject")
    res = decide(ntype, p, ctx, outcome, action="reject", reason="fraud")
    assert res.branch == "rejected"
    with pytest.raises(DecisionError, match="cannot take action 'edit'"):
        decide(ntype, p, ctx, outcome, action="edit", data={"amount": 1})


def test_escalation_default_note_and_failures():
    _, _, outcome = run_and_wait("escalation", make_ctx({"amount": 900}),
                                 when="item.amount > 500", team="finance")
    assert outcome.request.note == "escalated because item.amount > 500"
    ntype, p = node("escalation", when="item.amount > 500", team="finance")
    assert isinstance(ntype.run(make_ctx({}), p), Fail)
    ntype, p = node("escalation", when="true", team="finance", note="{{ item.nope }}")
    assert isinstance(ntype.run(make_ctx({}), p), Fail)


# ---------------------------------------------------------------- feedback


def test_feedback_run_shows_the_work():
    ctx = make_ctx(steps={"draft": {"text": "hello"}})
    ntype, p, outcome = run_and_wait("feedback", ctx, show=["draft"], team="editors",
                                     max_revisions=2)
    req = outcome.request
    assert ntype.branches(p) == ["accepted", "revise"]
    assert req.actions == ["accept", "revise", "escalate"]
    assert req.show == {"draft": {"text": "hello"}, "revisions": 0}
    assert req.note is None


def test_feedback_accept_and_revise():
    ctx = make_ctx(steps={"draft": {"text": "hello"}})
    ntype, p, outcome = run_and_wait("feedback", ctx, show=["draft"], max_revisions=2)
    res = decide(ntype, p, ctx, outcome, action="accept", rating=4)
    assert res.branch == "accepted"
    assert res.output["rating"] == 4 and res.output["revisions"] == 0
    res = decide(ntype, p, ctx, outcome, action="revise", rating=2, note="warmer tone")
    assert res.branch == "revise" and res.output["correction"] == "warmer tone"
    with pytest.raises(DecisionError, match="revise needs --note"):
        decide(ntype, p, ctx, outcome, action="revise", rating=2)
    with pytest.raises(DecisionError, match="cannot take action 'approve'"):
        decide(ntype, p, ctx, outcome, action="approve")


def test_feedback_refuses_revisions_past_the_maximum():
    # Third visit: two revisions happened, the most this node allows.
    ctx = make_ctx(steps={"draft": {"text": "v3"}}, visits=3)
    ntype, p, outcome = run_and_wait("feedback", ctx, show=["draft"], max_revisions=2)
    assert outcome.request.actions == ["accept", "escalate"]
    assert outcome.request.note == "revision 2 of at most 2"
    assert outcome.request.show["revisions"] == 2
    with pytest.raises(DecisionError, match="already revised 2 time"):
        decide(ntype, p, ctx, outcome, action="revise", note="again")
    assert decide(ntype, p, ctx, outcome, action="accept").output["revisions"] == 2
    # One visit earlier a revision is still allowed.
    ctx = make_ctx(visits=2)
    ntype, p, outcome = run_and_wait("feedback", ctx, max_revisions=2)
    assert "revise" in outcome.request.actions
    assert decide(ntype, p, ctx, outcome, action="revise", note="x").branch == "revise"


def test_feedback_with_no_revisions_allowed():
    ntype, p, outcome = run_and_wait("feedback", make_ctx(), max_revisions=0)
    assert outcome.request.actions == ["accept", "escalate"]
    with pytest.raises(DecisionError):
        decide(ntype, p, make_ctx(), outcome, action="revise", note="x")


# ---------------------------------------------------------------- human input

FORM = [
    {"name": "address", "type": "text", "required": True},
    {"name": "size", "type": "select", "required": True, "options": ["S", "M", "L"]},
    {"name": "qty", "type": "integer"},
    {"name": "weight", "type": "number"},
    {"name": "gift", "type": "boolean"},
    {"name": "ref", "type": "string"},
]


def test_human_input_asks_with_the_form():
    ntype, p, outcome = run_and_wait("human_input", make_ctx({"order": 1}), form=FORM,
                                     instructions="order {{ item.order }}", deadline="1d")
    req = outcome.request
    assert ntype.branches(p) == ["submitted", "timeout"]
    assert req.kind == "human_input" and req.actions == ["submit", "escalate"]
    assert [f.name for f in req.form] == [f["name"] for f in FORM]
    assert req.instructions == "order 1"
    assert req.deadline == NOW + timedelta(days=1) and req.on_timeout == "timeout"


def test_human_input_submit_coerces_values():
    ctx = make_ctx()
    ntype, p, outcome = run_and_wait("human_input", ctx, form=FORM)
    res = decide(ntype, p, ctx, outcome, action="submit", note="called",
                 data={"address": "1 Main St", "size": "M", "qty": "3", "weight": "2.5",
                       "gift": "yes", "ref": 42})
    assert res.branch == "submitted"
    assert res.output == {"address": "1 Main St", "size": "M", "qty": 3, "weight": 2.5,
                          "gift": True, "ref": "42", "_by": "mia", "_note": "called"}
    res = decide(ntype, p, ctx, outcome, action="submit",
                 data={"address": "x", "size": "S", "qty": 4.0, "gift": False, "weight": None})
    assert res.output["qty"] == 4 and res.output["gift"] is False and "weight" not in res.output


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"size": "M"}, "required form field(s) missing: address"),
        ({"address": "", "size": "M"}, "missing: address"),
        ({}, "missing: address, size"),
        ({"address": "x", "size": "XXL"}, "field size: 'XXL' is not one of S, M, L"),
        ({"address": "x", "size": "M", "qty": "three"},
         "field qty: 'three' is not a valid integer"),
        ({"address": "x", "size": "M", "qty": 2.5}, "field qty: 2.5 is not a valid integer"),
        ({"address": "x", "size": "M", "weight": "heavy"}, "field weight"),
        ({"address": "x", "size": "M", "gift": "perhaps"}, "field gift"),
        ({"address": "x", "size": "M", "colour": "red"}, "unknown form field(s) colour"),
    ],
)
def test_human_input_refuses_bad_forms(data, fragment):
    ctx = make_ctx()
    ntype, p, outcome = run_and_wait("human_input", ctx, form=FORM)
    with pytest.raises(DecisionError) as info:
        decide(ntype, p, ctx, outcome, action="submit", data=data)
    assert fragment in str(info.value)


def test_human_input_takes_only_submit():
    ctx = make_ctx()
    ntype, p, outcome = run_and_wait("human_input", ctx, form=FORM)
    with pytest.raises(DecisionError, match="cannot take action 'approve'; use one of: submit"):
        decide(ntype, p, ctx, outcome, action="approve")


def test_human_input_number_refuses_booleans():
    ctx = make_ctx()
    ntype, p, outcome = run_and_wait("human_input", ctx, form=FORM)
    with pytest.raises(DecisionError, match="weight"):
        decide(ntype, p, ctx, outcome, action="submit",
               data={"address": "x", "size": "M", "weight": True})


# ---------------------------------------------------------------- audit


def test_audit_records_and_continues():
    ntype, p = node("audit", message="{{ item.who }} read {{ item.rows }} rows",
                    category="data_access", fields={"rows": "{{ item.rows }}", "const": "x"})
    assert ntype.event_kind == "audit" and not ntype.human
    outcome = ntype.run(make_ctx({"who": "ann", "rows": 3}), p)
    assert outcome == Continue("next", {"message": "ann read 3 rows", "category": "data_access",
                                        "fields": {"rows": 3, "const": "x"}})


def test_audit_default_message_and_failure():
    ntype, p = node("audit")
    outcome = ntype.run(make_ctx({"a": 1}), p)
    assert outcome.branch == "next" and outcome.output["message"] == "{'a': 1}"
    assert "fields" not in outcome.output
    ntype, p = node("audit", message="{{ item.nope }}")
    assert isinstance(ntype.run(make_ctx({}), p), Fail)


# ---------------------------------------------------------------- records


class FakeRecords:
    def __init__(self, records: dict):
        self.records = records

    def get_record(self, table, key):
        value = self.records.get((table, key))
        return None if value is None else {"table_name": table, "key": key, "value": value}


def test_record_write_creates_with_an_idempotency_key():
    ntype, p = node("record_write", table="refunds", key="{{ item.id }}",
                    values={"amount": "{{ item.amount }}", "source": "loopgate"})
    assert ntype.branches(p) == ["next", "error"]
    ctx = make_ctx({"id": "C-1", "amount": 12.5}, node_id="refund", visits=2, run_id="run_a")
    outcome = ntype.run(ctx, p)
    assert outcome.branch == "next"
    assert {k: outcome.output[k] for k in ("table", "key", "values")} == {
        "table": "refunds", "key": "C-1", "values": {"amount": 12.5, "source": "loopgate"}}
    assert "previous" not in outcome.output
    (effect,) = ctx.effects
    assert effect["table_name"] == "refunds" and effect["key"] == "C-1"
    assert effect["deleted"] is False
    assert effect["value"] == {"amount": 12.5, "source": "loopgate"}
    assert effect["idempotency_key"] == "run_a:refund:2"
    assert (effect["run_id"], effect["node_id"], effect["updated_at"]) == ("run_a", "refund", NOW)


@pytest.mark.parametrize(("merge", "expected"), [(True, {"a": 1, "b": 9}), (False, {"b": 9})])
def test_record_write_updates_an_existing_record(merge, expected):
    services = FakeRecords({("records", "k"): {"a": 1, "b": 2}})
    ntype, p = node("record_write", key="k", values={"b": 9}, merge=merge)
    ctx = make_ctx(services=services)
    outcome = ntype.run(ctx, p)
    if merge:
        assert outcome.output["previous"] == {"a": 1, "b": 2}
    assert outcome.output["values"] == expected == ctx.effects[0]["value"]


@pytest.mark.parametrize(("key", "fragment"),
                         [("{{ item.id }}", "id"), ("{{ item.blank }}", "empty")])
def test_record_write_fails_without_a_key(key, fragment):
    ntype, p = node("record_write", key=key)
    ctx = make_ctx({"blank": ""})
    outcome = ntype.run(ctx, p)
    assert isinstance(outcome, Fail) and fragment in outcome.error
    assert ctx.effects == []


def test_record_delete():
    services = FakeRecords({("accounts", "C-9"): {"name": "x"}})
    ntype, p = node("record_delete", table="accounts", key="{{ item.id }}")
    assert ntype.branches(p) == ["next", "error"]
    ctx = make_ctx({"id": "C-9"}, services=services, node_id="wipe")
    outcome = ntype.run(ctx, p)
    assert outcome == Continue("next", {"table": "accounts", "key": "C-9", "existed": True,
                                        "previous": {"name": "x"}})
    (effect,) = ctx.effects
    assert effect["deleted"] is True and effect["key"] == "C-9"
    assert effect["idempotency_key"] == "run_test:wipe:1"
    ctx = make_ctx({"id": "C-0"}, services=services)
    assert ntype.run(ctx, p).output["existed"] is False
    ctx = make_ctx({}, services=services)
    assert isinstance(ntype.run(ctx, p), Fail) and ctx.effects == []
