"""`function`: call a registered Python function with rendered arguments."""

from __future__ import annotations

import pytest

from runtime import functions
from runtime.nodes import Continue, Fail
from tests.runtime.nodes.helpers import assert_never_waits, make_ctx, node


@pytest.fixture
def registered(monkeypatch):
    """Two functions registered for one test: one returns a dict, one a plain value."""
    monkeypatch.setitem(
        functions._FUNCTIONS, "score_lead", lambda company, employees: {"score": employees / 100}
    )
    monkeypatch.setitem(functions._FUNCTIONS, "shout", lambda text: text.upper())

    def broken() -> None:
        raise ValueError("no data")

    monkeypatch.setitem(functions._FUNCTIONS, "broken", broken)


def test_function_calls_with_rendered_args(registered):
    ntype, p = node(
        "function", name="score_lead", args={"company": "{{ item.co }}", "employees": 50}
    )
    assert ntype.branches(p) == ["next", "error"]
    assert ntype.run(make_ctx({"co": "Acme"}), p) == Continue("next", {"score": 0.5})
    ntype, p = node("function", name="shout", args={"text": "{{ item.co }}"})
    assert ntype.run(make_ctx({"co": "acme"}), p) == Continue("next", {"result": "ACME"})


def test_function_failures_take_the_error_branch(registered):
    ntype, p = node("function", name="broken")
    outcome = ntype.run(make_ctx(), p)
    assert isinstance(outcome, Fail)
    assert outcome.error == "function broken raised ValueError: no data"
    ntype, p = node("function", name="shout", args={"text": "{{ item.missing }}"})
    assert isinstance(ntype.run(make_ctx(), p), Fail)
    ntype, p = node("function", name="nowhere_to_be_found")
    outcome = ntype.run(make_ctx(), p)
    assert isinstance(outcome, Fail) and "no function named 'nowhere_to_be_found'" in outcome.error


def test_function_must_be_registered_at_compile_time(registered):
    ntype, p = node("function", name="nowhere_to_be_found")
    [problem] = ntype.check(p, set())
    assert "no function named 'nowhere_to_be_found'" in problem and "score_lead" in problem
    assert ntype.check(node("function", name="shout")[1], set()) == []


def test_function_contract():
    ntype, p = node("function", name="my_function")
    assert (ntype.family, ntype.icon) == ("action", "⚡")
    assert ntype.example_params == {"name": "my_function"}
    assert_never_waits(ntype, p)
