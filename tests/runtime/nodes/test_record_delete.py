"""`record_delete`: delete a record from the built-in record store (kept, marked deleted)."""

from __future__ import annotations

from runtime.nodes import Continue, Fail
from tests.runtime.nodes.helpers import assert_never_waits, make_ctx, node
from tests.runtime.nodes.records import FakeRecords


def test_record_delete():
    services = FakeRecords({("accounts", "C-9"): {"name": "x"}})
    ntype, p = node("record_delete", table="accounts", key="{{ item.id }}")
    assert ntype.branches(p) == ["next", "error"]
    ctx = make_ctx({"id": "C-9"}, services=services, node_id="wipe")
    outcome = ntype.run(ctx, p)
    assert outcome == Continue(
        "next", {"table": "accounts", "key": "C-9", "existed": True, "previous": {"name": "x"}}
    )
    (effect,) = ctx.effects
    assert effect["deleted"] is True and effect["key"] == "C-9"
    assert effect["idempotency_key"] == "run_test:wipe:1"
    ctx = make_ctx({"id": "C-0"}, services=services)
    assert ntype.run(ctx, p).output["existed"] is False
    ctx = make_ctx({}, services=services)
    assert isinstance(ntype.run(ctx, p), Fail) and ctx.effects == []


def test_record_delete_contract():
    ntype, p = node("record_delete", key="{{ item.id }}")
    assert (ntype.family, ntype.icon) == ("action", "⚡")
    assert ntype.example_params == {"key": "{{ item.id }}"}
    assert not ntype.external
    assert_never_waits(ntype, p)
