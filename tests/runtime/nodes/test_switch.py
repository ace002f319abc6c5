"""`switch`: one branch per case, or `default`."""

from __future__ import annotations

import pytest

from runtime.nodes import Continue, Fail
from tests.runtime.nodes.helpers import assert_never_waits, make_ctx, node


@pytest.mark.parametrize(
    ("label", "branch"),
    [
        ("billing", "billing"),
        ("technical", "technical"),
        ("other", "default"),
        (None, "default"),
        ("Billing", "default"),
    ],
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


def test_switch_contract():
    ntype, p = node("switch", value="{{ item.category }}", cases=["case_1"])
    assert (ntype.family, ntype.icon) == ("flow", "🔀")
    assert ntype.example_params == {"value": "{{ item.category }}", "cases": ["case_1"]}
    assert ntype.branches(p) == ["case_1", "default"]
    assert_never_waits(ntype, p)
