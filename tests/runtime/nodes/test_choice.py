"""`choice`: a person picks which way the workflow goes; each option is a branch."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from runtime.errors import DecisionError
from runtime.nodes import Decision, TimeoutPolicy
from runtime.spec import loads_yaml
from tests.runtime.nodes.helpers import NOW, decide, make_ctx, node, run_and_wait

OPTIONS = ["marketing", "research", "infrastructure"]
FORM = [
    {"name": "budget_code", "type": "string", "required": True},
    {"name": "share", "type": "number"},
]


def test_choice_asks_with_its_options():
    ntype, p, outcome = run_and_wait(
        "choice",
        make_ctx({"title": "GPU"}),
        options=OPTIONS,
        instructions="route {{ item.title }}",
        team="leads",
        deadline="2d",
    )
    req = outcome.request
    assert ntype.branches(p) == [*OPTIONS, "timeout"]
    assert req.kind == "choice" and req.actions == ["choose", "escalate"]
    assert req.options == OPTIONS and req.form == []
    assert req.instructions == "route GPU" and req.team == "leads"
    assert req.deadline == NOW + timedelta(days=2) and req.on_timeout == "timeout"


@pytest.mark.parametrize("option", OPTIONS)
def test_each_option_takes_its_branch(option):
    ctx = make_ctx()
    ntype, p, outcome = run_and_wait("choice", ctx, options=OPTIONS)
    res = decide(ntype, p, ctx, outcome, action="choose", option=option, note="fits")
    assert res.branch == option
    assert res.output == {
        "action": "choose",
        "choice": option,
        "choices": [option],
        "by": "mia",
        "note": "fits",
        "data": {},
    }


@pytest.mark.parametrize(
    ("decision", "fragment"),
    [
        (
            {"action": "choose", "option": "sales"},
            "option 'sales' is not one of this checkpoint's: marketing, research, infrastructure",
        ),
        ({"action": "choose"}, "choose needs an option (--option), one of: marketing, research"),
        ({"action": "choose", "option": []}, "choose needs an option"),
        ({"action": "choose", "option": ["marketing", "research"]}, "takes one option, 2 were"),
        ({"action": "approve"}, "cannot take action 'approve'; use one of: choose, escalate"),
    ],
)
def test_choice_refuses_decisions_that_do_not_fit(decision, fragment):
    ctx = make_ctx()
    ntype, p, outcome = run_and_wait("choice", ctx, options=OPTIONS)
    with pytest.raises(DecisionError) as info:
        decide(ntype, p, ctx, outcome, **decision)
    assert fragment in str(info.value)


def test_multiple_follows_the_first_listed_and_records_all():
    ctx = make_ctx()
    ntype, p, outcome = run_and_wait("choice", ctx, options=OPTIONS, multiple=True)
    assert outcome.request.note == "pick several options"
    res = decide(ntype, p, ctx, outcome, action="choose", option=["infrastructure", "research"])
    assert res.branch == "research"  # the listed order wins, not the order picked
    assert res.output["choice"] == "research"
    assert res.output["choices"] == ["research", "infrastructure"]
    res = decide(ntype, p, ctx, outcome, action="choose", option=["marketing", "marketing"])
    assert res.output["choices"] == ["marketing"]


def test_the_extra_form_is_checked_and_typed():
    ctx = make_ctx()
    ntype, p, outcome = run_and_wait("choice", ctx, options=OPTIONS, form=FORM)
    assert [f.name for f in outcome.request.form] == ["budget_code", "share"]
    res = decide(
        ntype,
        p,
        ctx,
        outcome,
        action="choose",
        option="research",
        data={"budget_code": "R-17", "share": "0.5"},
    )
    assert res.output["data"] == {"budget_code": "R-17", "share": 0.5}
    for data, fragment in (
        ({}, "required form field(s) missing: budget_code"),
        ({"budget_code": "x", "share": "half"}, "field share: 'half' is not a valid number"),
        ({"budget_code": "x", "owner": "ana"}, "unknown form field(s) owner"),
    ):
        with pytest.raises(DecisionError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
            decide(ntype, p, ctx, outcome, action="choose", option="research", data=data)


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"options": []}, "at least 1 item"),
        ({"options": ["a", "a"]}, "repeated: a"),
        ({"options": ["timeout"]}, "reserved"),
        ({"options": ["a/b"]}, "cannot be a branch name"),
        ({"options": ["a"], "default_option": "b"}, "default_option 'b' is not one of the options"),
        ({"options": ["a"], "on_timeout": "approve"}, "on_timeout"),
        ({"options": ["a"], "form": [{"name": "x"}, {"name": "x"}]}, "must be unique"),
    ],
)
def test_choice_params_are_validated(params, fragment):
    with pytest.raises(ValidationError) as info:
        node("choice", **params)
    assert fragment in str(info.value)


def test_timeout_branch_default_option_and_escalation():
    ntype, p = node("choice", options=OPTIONS, deadline="1d")
    assert ntype.timeout_policy(p) == TimeoutPolicy("1d", "timeout", None)
    assert ntype.default_decision(p) is None
    _, p = node(
        "choice", options=OPTIONS, deadline="1d", on_timeout="default", default_option="research"
    )
    assert ntype.branches(p) == OPTIONS  # no timeout branch: the default option is taken
    assert ntype.default_decision(p) == Decision(
        action="choose", option="research", note="decided by default at the deadline"
    )
    assert ntype.check(p, set()) == []
    _, p = node("choice", options=OPTIONS, deadline="1d", on_timeout="default")
    assert ntype.check(p, set()) == ["on_timeout is default, so default_option must name an option"]
    _, p = node("choice", options=OPTIONS, on_timeout="escalate", escalate_to="ops", deadline="4h")
    assert ntype.escalation_team(p) == "ops" and ntype.check(p, set()) == []


def test_default_on_timeout_is_refused_where_there_is_no_default():
    with pytest.raises(ValidationError, match="'timeout', 'approve', 'reject' or 'escalate'"):
        node("approval", deadline="1d", on_timeout="default")


def test_choice_contract():
    ntype, p = node("choice", options=OPTIONS)
    assert ntype.family == "checkpoint"
    assert ntype.example_params == {"options": ["option_a", "option_b"]}
    assert ntype.human and ntype.guards and not ntype.rates
    assert ntype.decision_actions == ("choose", "escalate")
    assert ntype.person_branches(p) == OPTIONS
    assert ntype.training_targets(p) == []
    assert ntype.timeout_policy(p) is None and ntype.guards_with(p)
    _, _, outcome = run_and_wait("choice", make_ctx(), options=OPTIONS)
    assert set(outcome.request.actions) <= set(ntype.decision_actions)


# ---------------------------------------------------------------- through the engine

ROUTE = """
id: route
name: Route a request
nodes:
  - {id: start, type: trigger}
  - id: pick
    type: choice
    params:
      options: [marketing, research]
      team: leads
      deadline: 1d
      on_timeout: default
      default_option: research
  - {id: m, type: end, params: {result: marketing}}
  - {id: r, type: end, params: {result: research}}
edges:
  - {from: start, to: pick}
  - {from: pick, to: m, branch: marketing}
  - {from: pick, to: r, branch: research}
"""


def test_a_person_routes_a_run_and_a_deadline_takes_the_default(engine):
    from runtime.auth import add_user

    add_user(engine.store, "lee", roles=["reviewer"], teams=["leads"])
    wf = loads_yaml(ROUTE)
    first = engine.start(wf, {"title": "ads"})
    assert first.status == "waiting"
    review = engine.store.get_review(first.review_id)
    assert review["options"] == ["marketing", "research"]
    with pytest.raises(DecisionError, match="option 'sales' is not one of"):
        engine.decide(first.review_id, Decision(action="choose", option="sales"), by="lee")
    done = engine.decide(first.review_id, Decision(action="choose", option="marketing"), by="lee")
    assert (done.status, done.result) == ("succeeded", "marketing")
    assert done.outputs["pick"]["choice"] == "marketing"

    second = engine.start(wf, {"title": "lab"})
    report = engine.sweep(now=engine.clock() + timedelta(days=2))
    assert report.decided == [second.review_id]
    after = engine.get_run(second.run_id)
    assert (after.status, after.result) == ("succeeded", "research")
    assert after.outputs["pick"]["by"] == "system" and after.outputs["pick"]["choices"] == [
        "research"
    ]
    decided = engine.store.get_review(second.review_id)
    assert (decided["status"], decided["action"]) == ("decided", "choose")


def test_an_unconnected_option_is_named_by_the_checker():
    from runtime.compiler import check
    from runtime.spec import parse_spec

    text = ROUTE.replace("  - {from: pick, to: r, branch: research}\n", "")
    _, problems = check(parse_spec(__import__("yaml").safe_load(text)))
    assert any("research" in str(p) and "pick" in str(p) for p in problems), problems
