"""`human_input`: a person fills a form with the context the workflow is missing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from runtime.errors import DecisionError
from runtime.nodes import TimeoutPolicy
from tests.runtime.nodes.helpers import NOW, decide, make_ctx, node, run_and_wait

FORM = [
    {"name": "address", "type": "text", "required": True},
    {"name": "size", "type": "select", "required": True, "options": ["S", "M", "L"]},
    {"name": "qty", "type": "integer"},
    {"name": "weight", "type": "number"},
    {"name": "gift", "type": "boolean"},
    {"name": "ref", "type": "string"},
]


def test_human_input_asks_with_the_form():
    ntype, p, outcome = run_and_wait(
        "human_input",
        make_ctx({"order": 1}),
        form=FORM,
        instructions="order {{ item.order }}",
        deadline="1d",
    )
    req = outcome.request
    assert ntype.branches(p) == ["submitted", "timeout"]
    assert req.kind == "human_input" and req.actions == ["submit", "escalate"]
    assert [f.name for f in req.form] == [f["name"] for f in FORM]
    assert req.instructions == "order 1"
    assert req.deadline == NOW + timedelta(days=1) and req.on_timeout == "timeout"


def test_human_input_submit_coerces_values():
    ctx = make_ctx()
    ntype, p, outcome = run_and_wait("human_input", ctx, form=FORM)
    res = decide(
        ntype,
        p,
        ctx,
        outcome,
        action="submit",
        note="called",
        data={
            "address": "1 Main St",
            "size": "M",
            "qty": "3",
            "weight": "2.5",
            "gift": "yes",
            "ref": 42,
        },
    )
    assert res.branch == "submitted"
    assert res.output == {
        "address": "1 Main St",
        "size": "M",
        "qty": 3,
        "weight": 2.5,
        "gift": True,
        "ref": "42",
        "_by": "mia",
        "_note": "called",
    }
    res = decide(
        ntype,
        p,
        ctx,
        outcome,
        action="submit",
        data={"address": "x", "size": "S", "qty": 4.0, "gift": False, "weight": None},
    )
    assert res.output["qty"] == 4 and res.output["gift"] is False and "weight" not in res.output


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"size": "M"}, "required form field(s) missing: address"),
        ({"address": "", "size": "M"}, "missing: address"),
        ({}, "missing: address, size"),
        ({"address": "x", "size": "XXL"}, "field size: 'XXL' is not one of S, M, L"),
        (
            {"address": "x", "size": "M", "qty": "three"},
            "field qty: 'three' is not a valid integer",
        ),
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
        decide(
            ntype,
            p,
            ctx,
            outcome,
            action="submit",
            data={"address": "x", "size": "M", "weight": True},
        )


# ---------------------------------------------------------------- the contract


def test_human_input_contract():
    ntype, p = node("human_input", form=FORM)
    assert (ntype.family, ntype.icon) == ("checkpoint", "✋")
    assert ntype.example_params == {"form": [{"name": "details", "type": "text", "required": True}]}
    assert ntype.human and ntype.guards and not ntype.rates
    assert ntype.decision_actions == ("submit", "escalate")
    assert ntype.person_branches(p) == ["submitted"]
    assert ntype.training_targets(p) == []
    assert ntype.timeout_policy(p) is None and ntype.guards_with(p)
    assert ntype.escalation_team(p) is None
    _, p = node("human_input", form=FORM, deadline="1d", on_timeout="escalate", escalate_to="ops")
    assert ntype.timeout_policy(p) == TimeoutPolicy("1d", "escalate", "ops")
    assert ntype.escalation_team(p) == "ops"
    assert ntype.person_branches(p) == ["submitted"]
    assert ntype.guards_with(p)


def test_human_input_offers_only_its_declared_actions():
    ntype, _, outcome = run_and_wait("human_input", make_ctx(), form=FORM)
    assert set(outcome.request.actions) <= set(ntype.decision_actions)
