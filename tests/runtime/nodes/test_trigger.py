"""`trigger`: where every run starts."""

from __future__ import annotations

from runtime.nodes import Continue
from tests.runtime.nodes.helpers import assert_never_waits, make_ctx, node


def test_trigger():
    ntype, p = node("trigger")
    assert ntype.branches(p) == ["next"]
    assert ntype.run(make_ctx({"a": 1}), p) == Continue("next", {})


def test_trigger_contract():
    ntype, p = node("trigger")
    assert (ntype.family, ntype.icon, ntype.example_params) == ("flow", "▶️", {})
    assert_never_waits(ntype, p)
