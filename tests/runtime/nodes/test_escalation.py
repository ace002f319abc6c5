"""`escalation`: when a condition holds, a named team reviews, with a note."""

from __future__ import annotations

import pytest

from runtime.errors import DecisionError
from runtime.nodes import Continue, Fail, TimeoutPolicy
from tests.runtime.nodes.helpers import decide, make_ctx, node, run_and_wait

ESC = {
    "when": "item.amount > 500",
    "team": "finance",
    "priority": "high",
    "note": "refund of {{ item.amount }} is over the limit",
    "reason_codes": ["fraud"],
}


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
    _, _, outcome = run_and_wait(
        "escalation", make_ctx({"amount": 900}), when="item.amount > 500", team="finance"
    )
    assert outcome.request.note == "escalated because item.amount > 500"
    ntype, p = node("escalation", when="item.amount > 500", team="finance")
    assert isinstance(ntype.run(make_ctx({}), p), Fail)
    ntype, p = node("escalation", when="true", team="finance", note="{{ item.nope }}")
    assert isinstance(ntype.run(make_ctx({}), p), Fail)


# ---------------------------------------------------------------- the contract


def test_escalation_contract():
    ntype, p = node("escalation", **ESC)
    assert (ntype.family, ntype.icon) == ("checkpoint", "✋")
    assert ntype.example_params == {"when": "true", "team": "reviewers"}
    assert ntype.human and not ntype.guards and not ntype.rates
    assert ntype.decision_actions == ("approve", "reject", "escalate")
    assert ntype.person_branches(p) == ["pass", "rejected"]
    assert ntype.training_targets(p) == []
    assert ntype.timeout_policy(p) is None
    # The review's own team is not where an escalation goes on: that is escalate_to.
    assert ntype.escalation_team(p) is None
    # Items for which the condition is false pass with nobody looking: no guard.
    assert not ntype.guards_with(p)
    _, p = node("escalation", **ESC, deadline="2h", on_timeout="escalate", escalate_to="cfo")
    assert ntype.escalation_team(p) == "cfo"
    assert ntype.timeout_policy(p) == TimeoutPolicy("2h", "escalate", "cfo")


def test_escalation_offers_only_its_declared_actions():
    ntype, _, outcome = run_and_wait("escalation", make_ctx({"amount": 900}), **ESC)
    assert set(outcome.request.actions) <= set(ntype.decision_actions)
