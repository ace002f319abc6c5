"""`record_write`: create or update a record in the built-in record store."""

from __future__ import annotations

import pytest

from runtime.nodes import Fail
from tests.runtime.nodes.helpers import NOW, assert_never_waits, make_ctx, node
from tests.runtime.nodes.records import FakeRecords


def test_record_write_creates_with_an_idempotency_key():
    ntype, p = node(
        "record_write",
        table="refunds",
        key="{{ item.id }}",
        values={"amount": "{{ item.amount }}", "source": "loopgate"},
    )
    assert ntype.branches(p) == ["next", "error"]
    ctx = make_ctx({"id": "C-1", "amount": 12.5}, node_id="refund", visits=2, run_id="run_a")
    outcome = ntype.run(ctx, p)
    assert outcome.branch == "next"
    assert {k: outcome.output[k] for k in ("table", "key", "values")} == {
        "table": "refunds",
        "key": "C-1",
        "values": {"amount": 12.5, "source": "loopgate"},
    }
    assert "previous" not in outcome.output
    (effect,) = ctx.effects
    assert effect["table_name"] == "refunds" and effect["key"] == "C-1"
    assert effect["deleted"] is False
    assert effect["value"] == {"amount": 12.5, "source": "loopgate"}
    assert effect["idempotency_key"] == "run_a:refund:2"
    assert (effect["run_id"], effect["node_id"], effect["updated_at"]) == ("run_a", "refund", NOW)


@pytest.mark.parametrize(("merge", "expected"), [(True, {"a": 1, "b": 9}), (False, {"b": 9})])
def test_record_write_updates_an_existing_record(merge, expected):
    services = FakeRecords({("records", "k"): {"a": 1, "b": 2}})
    ntype, p = node("record_write", key="k", values={"b": 9}, merge=merge)
    ctx = make_ctx(services=services)
    outcome = ntype.run(ctx, p)
    if merge:
        assert outcome.output["previous"] == {"a": 1, "b": 2}
    assert outcome.output["values"] == expected == ctx.effects[0]["value"]


@pytest.mark.parametrize(
    ("key", "fragment"), [("{{ item.id }}", "id"), ("{{ item.blank }}", "empty")]
)
def test_record_write_fails_without_a_key(key, fragment):
    ntype, p = node("record_write", key=key)
    ctx = make_ctx({"blank": ""})
    outcome = ntype.run(ctx, p)
    assert isinstance(outcome, Fail) and fragment in outcome.error
    assert ctx.effects == []


def test_record_write_contract():
    ntype, p = node("record_write", key="{{ item.id }}")
    assert (ntype.family, ntype.icon) == ("action", "⚡")
    assert ntype.example_params == {"key": "{{ item.id }}"}
    assert not ntype.external  # the write commits with the step, inside the database
    assert_never_waits(ntype, p)
