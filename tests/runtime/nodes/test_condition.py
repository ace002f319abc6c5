"""`condition`: true or false by a safe expression."""

from __future__ import annotations

import pytest

from runtime.nodes import Continue, Fail
from tests.runtime.nodes.helpers import assert_never_waits, make_ctx, node


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


def test_condition_contract():
    ntype, p = node("condition", when="true")
    assert (ntype.family, ntype.icon) == ("flow", "🔀")
    assert ntype.example_params == {"when": "true"}
    assert ntype.run(make_ctx(), node("condition", **ntype.example_params)[1]).branch == "true"
    assert_never_waits(ntype, p)
