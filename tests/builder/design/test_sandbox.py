"""Test runs in the Builder: a private in-memory engine, followed through a checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.design.sandbox import TESTER, Sandbox
from runtime import ItemError, SpecError, load_yaml, parse_spec
from runtime.nodes.base import Decision

ROOT = Path(__file__).resolve().parents[3]
EXPENSE = ROOT / "examples" / "expense-approval.yaml"
TRAIN_TICKET = {"employee": "bob", "amount": 240, "category": "travel", "note": "train"}


def test_a_test_run_stops_at_the_checkpoint_and_runs_on_when_decided() -> None:
    sandbox = Sandbox()
    res = sandbox.start(load_yaml(EXPENSE), TRAIN_TICKET)
    assert (res.status, res.waiting_on) == ("waiting", "manager")
    assert sandbox.path(res.run_id) == ["submitted", "small", "manager"]
    review = sandbox.review(res.review_id)
    assert review["node_id"] == "manager" and "approve" in review["actions"]
    assert "bob spent 240" in review["instructions"]
    done = sandbox.decide(res.review_id, Decision(action="approve"))
    assert (done.status, done.result) == ("succeeded", "approved")
    assert sandbox.path(res.run_id) == ["submitted", "small", "manager", "paid"]
    rows = sandbox.steps(res.run_id)
    assert all(set(r) == {"event", "node", "by", "branch", "output"} for r in rows)
    assert any(r["by"] == TESTER and r["node"] == "manager" for r in rows)
    assert any(r["node"] == "small" and r["branch"] == "false" for r in rows)


def test_a_failed_run_ends_its_path_at_the_failing_node() -> None:
    spec = parse_spec(
        {
            "id": "bad-math",
            "name": "Bad math",
            "nodes": [
                {"id": "start", "type": "trigger"},
                {"id": "check", "type": "condition", "params": {"when": "item.a / item.b > 1"}},
                {"id": "done", "type": "end"},
            ],
            "edges": [
                {"from": "start", "to": "check"},
                {"from": "check", "to": "done", "branch": "true"},
                {"from": "check", "to": "done", "branch": "false"},
            ],
        }
    )
    sandbox = Sandbox()
    res = sandbox.start(spec, {"a": 1, "b": 0})
    assert res.status == "failed"
    assert sandbox.path(res.run_id)[-1] == "check"


def test_nothing_leaves_the_sandbox() -> None:
    first, second = Sandbox(), Sandbox()
    first.start(load_yaml(EXPENSE), TRAIN_TICKET)
    assert second.store.list_workflows() == []
    assert first.engine.services.settings["dry_run"] is True


def test_bad_workflows_and_items_are_refused() -> None:
    sandbox = Sandbox()
    with pytest.raises(ItemError):
        sandbox.start(load_yaml(EXPENSE), {"employee": "bob"})
    broken = parse_spec({"id": "broken", "name": "Broken", "nodes": [{"id": "a", "type": "end"}]})
    with pytest.raises(SpecError):
        sandbox.start(broken, {})
