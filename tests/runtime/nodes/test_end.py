"""`end`: the run succeeds here."""

from __future__ import annotations

from runtime.nodes import Continue
from tests.runtime.nodes.helpers import assert_never_waits, make_ctx, node


def test_end():
    ntype, p = node("end")
    assert ntype.branches(p) == []
    assert ntype.run(make_ctx(), p) == Continue(None, {})
    ntype, p = node("end", result="refunded")
    assert ntype.run(make_ctx(), p) == Continue(None, {"result": "refunded"})


def test_end_contract():
    ntype, p = node("end")
    assert (ntype.family, ntype.icon, ntype.example_params) == ("flow", "🏁", {})
    assert_never_waits(ntype, p)
