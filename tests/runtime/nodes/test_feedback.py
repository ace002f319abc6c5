"""`feedback`: a person rates the work, then accepts it or sends it back for a revision."""

from __future__ import annotations

import pytest

from runtime.errors import DecisionError
from runtime.nodes import TimeoutPolicy
from tests.runtime.nodes.helpers import decide, make_ctx, node, run_and_wait


def test_feedback_run_shows_the_work():
    ctx = make_ctx(steps={"draft": {"text": "hello"}})
    ntype, p, outcome = run_and_wait(
        "feedback", ctx, show=["draft"], team="editors", max_revisions=2
    )
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


# ---------------------------------------------------------------- the contract


def test_feedback_contract():
    ntype, p = node("feedback", show=["draft", "intent"], deadline="1d")
    assert (ntype.family, ntype.icon, ntype.example_params) == ("checkpoint", "✋", {})
    assert ntype.human and ntype.guards
    assert ntype.rates  # decisions carry a rating and a free-text correction
    assert ntype.decision_actions == ("accept", "revise", "escalate")
    assert ntype.branches(p) == ["accepted", "revise", "timeout"]
    assert ntype.person_branches(p) == ["accepted", "revise"]
    assert ntype.timeout_policy(p) == TimeoutPolicy("1d", "timeout", None)
    assert ntype.guards_with(p)
    assert ntype.escalation_team(p) is None
    _, p = node("feedback", deadline="1d", on_timeout="escalate", escalate_to="leads")
    assert ntype.escalation_team(p) == "leads"


def test_feedback_decisions_judge_the_outputs_it_shows():
    ntype, p = node("feedback", show=["draft", "intent"])
    assert ntype.training_targets(p) == ["draft", "intent"]
    assert ntype.training_verdict(p, "accept") is True
    assert ntype.training_verdict(p, "revise") is False
    assert ntype.training_targets(node("feedback")[1]) == []


def test_feedback_offers_only_its_declared_actions():
    ntype, _, outcome = run_and_wait("feedback", make_ctx(), max_revisions=2)
    assert set(outcome.request.actions) <= set(ntype.decision_actions)
