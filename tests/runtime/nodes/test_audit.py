"""`audit`: records what, when and why, and never stops."""

from __future__ import annotations

from runtime.nodes import Continue, Fail
from tests.runtime.nodes.helpers import assert_never_waits, make_ctx, node


def test_audit_records_and_continues():
    ntype, p = node(
        "audit",
        message="{{ item.who }} read {{ item.rows }} rows",
        category="data_access",
        fields={"rows": "{{ item.rows }}", "const": "x"},
    )
    assert ntype.event_kind == "audit" and not ntype.human
    outcome = ntype.run(make_ctx({"who": "ann", "rows": 3}), p)
    assert outcome == Continue(
        "next",
        {
            "message": "ann read 3 rows",
            "category": "data_access",
            "fields": {"rows": 3, "const": "x"},
        },
    )


def test_audit_default_message_and_failure():
    ntype, p = node("audit")
    outcome = ntype.run(make_ctx({"a": 1}), p)
    assert outcome.branch == "next" and outcome.output["message"] == "{'a': 1}"
    assert "fields" not in outcome.output
    ntype, p = node("audit", message="{{ item.nope }}")
    assert isinstance(ntype.run(make_ctx({}), p), Fail)


def test_audit_contract():
    ntype, p = node("audit")
    # A checkpoint in the palette, but one that never stops: no actions, no branches to guard.
    assert (ntype.family, ntype.icon, ntype.example_params) == ("checkpoint", "✋", {})
    assert_never_waits(ntype, p)
