"""`approval`: approve, reject with a reason, or edit then approve; the shared review params."""

from __future__ import annotations

from datetime import timedelta

import pytest

from runtime.errors import DecisionError
from runtime.nodes import TimeoutPolicy
from tests.runtime.nodes.helpers import NOW, decide, make_ctx, node, run_and_wait

APPROVAL = {
    "team": "managers",
    "instructions": "{{ item.who }} spent {{ item.amount }}",
    "reason_codes": ["too_much", "wrong"],
    "editable": ["amount", "intent.label"],
    "priority": "high",
    "deadline": "2d",
    "on_timeout": "escalate",
    "escalate_to": "finance",
}


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
        ("amount", "number", 70),
        ("intent.label", "string", "travel"),
    ]
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
    assert res.output == {
        "action": "approve",
        "by": "mia",
        "data": {},
        "reason": None,
        "note": "fine",
    }
    res = decide(ntype, p, ctx, outcome, action="reject", reason="too_much", note="no")
    assert res.branch == "rejected" and res.output["reason"] == "too_much"


@pytest.mark.parametrize(
    ("decision", "fragment"),
    [
        ({"action": "reject"}, "reject needs --reason, one of: too_much, wrong"),
        ({"action": "reject", "reason": "nope"}, "reason 'nope' is not one of"),
        (
            {"action": "edit", "data": {"who": "bob"}},
            "who may not be edited here; editable: amount",
        ),
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
    res = decide(
        ntype, p, ctx, outcome, action="edit", data={"amount": 55, "intent.label": "meals"}
    )
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


# ---------------------------------------------------------------- the contract


def test_approval_contract():
    ntype, p = node("approval")
    assert (ntype.family, ntype.icon, ntype.example_params) == ("checkpoint", "✋", {})
    assert ntype.human and ntype.guards and not ntype.rates
    assert ntype.decision_actions == ("approve", "reject", "edit", "escalate")
    assert ntype.person_branches(p) == ["approved", "rejected"]
    assert ntype.training_targets(p) == []
    assert ntype.escalation_team(p) is None
    assert ntype.timeout_policy(p) is None and ntype.guards_with(p)


def test_approval_deadlines_escalation_and_what_still_guards():
    ntype, p = node("approval", **APPROVAL)
    assert ntype.escalation_team(p) == "finance"
    assert ntype.timeout_policy(p) == TimeoutPolicy("2d", "escalate", "finance")
    assert ntype.timeout_policy(p).duration == timedelta(days=2)
    assert ntype.guards_with(p)
    _, p = node("approval", deadline="4h")
    assert ntype.timeout_policy(p) == TimeoutPolicy("4h", "timeout", None)
    assert ntype.person_branches(p) == ["approved", "rejected"]  # not timeout
    assert ntype.guards_with(p)
    _, p = node("approval", deadline="4h", on_timeout="reject")
    assert ntype.guards_with(p)
    # A deadline that approves by default lets items through with nobody looking.
    _, p = node("approval", deadline="4h", on_timeout="approve")
    assert ntype.timeout_policy(p).approves_by_default
    assert not ntype.guards_with(p)


def test_approval_offers_only_its_declared_actions():
    ntype, _, outcome = run_and_wait("approval", make_ctx(), **APPROVAL)
    assert set(outcome.request.actions) <= set(ntype.decision_actions)
