"""The stepper alone: a compiled workflow, a run and the time in, a write batch out; no store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from runtime.compiler import compile_workflow
from runtime.domain import Claim, WriteBatch
from runtime.engine.stepper import Stepper
from runtime.errors import DecisionError
from runtime.nodes.base import Decision
from runtime.spec import load_yaml, parse_spec

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC).replace(tzinfo=None)


@pytest.fixture(scope="module")
def expense():
    wf = compile_workflow(load_yaml(EXAMPLES / "expense-approval.yaml"))
    wf.version = 1
    return wf


def _start(stepper: Stepper, wf: Any, item: dict[str, Any]):
    run = stepper.new_run(wf, wf.validate_item(item), NOW, "dev")
    batch = WriteBatch()
    stepper.start(run, wf, batch, NOW)
    return run, batch


def test_a_small_expense_runs_to_the_end(expense) -> None:
    run, batch = _start(
        Stepper(services=None), expense, {"employee": "bo", "amount": 20, "category": "meals"}
    )
    assert run.status == "succeeded" and run.result == "approved"
    assert run.current_node is None and run.finished_at == NOW
    assert batch.events[0].kind == "run.started"
    assert batch.events[-1].kind == "run.succeeded"
    assert batch.runs == {run.id: run} and run.is_new
    assert batch.reviews == []


def test_a_large_expense_waits_at_the_checkpoint_then_resumes(expense) -> None:
    stepper = Stepper(services=None)
    run, batch = _start(stepper, expense, {"employee": "bo", "amount": 900, "category": "travel"})
    assert run.status == "waiting" and run.current_node == "manager"
    (review,) = batch.reviews
    assert review.team == "managers" and review.run_id == run.id
    assert run.review_id == review.id
    assert batch.events[-1].kind == "review.requested"

    claim = Claim.of(review, run)
    with pytest.raises(DecisionError, match="cannot take 'submit'"):
        stepper.validate(claim, expense, Decision(action="submit"), "mia", NOW)
    after = WriteBatch()
    resumed = stepper.resume(claim, expense, Decision(action="approve"), "mia", after, NOW)
    assert resumed.status == "succeeded" and resumed.result == "approved"
    assert run.status == "waiting"  # the claim's run is left as it was
    assert after.events[0].kind == "review.decided"
    assert after.events[0].actor == "mia"


def test_a_loop_fails_at_the_step_limit() -> None:
    spec = parse_spec(
        {
            "id": "loop",
            "name": "Loop",
            "max_steps": 5,
            "nodes": [
                {"id": "t", "type": "trigger"},
                {"id": "again", "type": "condition", "params": {"when": "true"}},
                {"id": "done", "type": "end"},
            ],
            "edges": [
                {"from": "t", "to": "again"},
                {"from": "again", "to": "again", "branch": "true"},
                {"from": "again", "to": "done", "branch": "false"},
            ],
        }
    )
    wf = compile_workflow(spec)
    wf.version = 1
    run, batch = _start(Stepper(services=None), wf, {})
    assert run.status == "failed" and "step limit of 5" in (run.error or "")
    assert batch.events[-1].kind == "run.failed"
    assert run.step_count == 5
