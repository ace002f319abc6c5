"""`set`: compute named fields from templates."""

from __future__ import annotations

from runtime.nodes import Continue, Fail
from tests.runtime.nodes.helpers import assert_never_waits, make_ctx, node


def test_set():
    ntype, p = node(
        "set",
        values={
            "total": "{{ item.a + item.b }}",
            "label": "sum={{ item.a }}",
            "const": 7,
            "list": ["{{ item.a }}"],
        },
    )
    outcome = ntype.run(make_ctx({"a": 1, "b": 2}), p)
    assert outcome == Continue("next", {"total": 3, "label": "sum=1", "const": 7, "list": [1]})
    outcome = ntype.run(make_ctx({}), p)
    assert isinstance(outcome, Fail) and "a" in outcome.error


def test_set_contract():
    ntype, p = node("set")
    assert (ntype.type_name, ntype.family, ntype.icon, ntype.example_params) == (
        "set",
        "flow",
        "🔀",
        {},
    )
    assert ntype.run(make_ctx(), p) == Continue("next", {})
    assert_never_waits(ntype, p)
