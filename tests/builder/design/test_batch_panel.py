"""The Run items tab's core without Streamlit: plan, start, summarize, against a real store."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.design.batch_panel import (
    NO_PUBLISHED,
    batch_id_for,
    item_error,
    plan_batch,
    published_workflow,
    start_batch,
)
from runtime import AccessError, Engine, NotFoundError, load_yaml, parse_spec
from runtime.auth import add_user
from runtime.items import read_items

ROOT = Path(__file__).resolve().parents[3]
WORKFLOW = ROOT / "examples" / "expense-approval.yaml"
ITEMS = ROOT / "examples" / "items" / "expense-approval.jsonl"


@pytest.fixture
def designer(engine: Engine) -> Engine:
    """The shared engine with a designer `dev` and the expense example published."""
    add_user(engine.store, "dev", roles=["designer"], teams=[])
    engine.forget_users()
    engine.save_workflow(load_yaml(WORKFLOW), by="dev")
    return engine


def test_the_example_files_exist() -> None:
    assert WORKFLOW.exists() and ITEMS.exists()
    items, _ = read_items(ITEMS)
    assert len(items) == 4


def test_a_batch_is_summarized_with_the_progress_reported(designer: Engine) -> None:
    items, digest = read_items(ITEMS)
    plan = plan_batch(designer, designer.workflow("expense-approval"), items, digest)
    assert (plan.total, plan.earlier, plan.bad, plan.to_start, plan.version) == (4, 0, [], 4, 1)
    calls: list[tuple[int, int]] = []
    s = start_batch(
        designer, "expense-approval", items, digest, "dev", lambda d, t: calls.append((d, t))
    )
    assert calls and calls[-1] == (4, 4)
    assert (s.total, s.started, s.earlier) == (4, 4, 0)
    assert (s.waiting, s.succeeded, s.failed, s.other, s.bad) == (2, 2, 0, 0, [])
    assert (
        s.batch_id
        == batch_id_for("expense-approval", digest)
        == f"upload:expense-approval:{digest}"
    )
    assert [r["status"] for r in s.runs] == ["succeeded", "waiting", "waiting", "succeeded"]
    assert s.runs[1]["team"] == "managers"
    assert designer.store.count_runs() == {"succeeded": 2, "waiting": 2}


def test_the_same_file_again_starts_nothing_and_reports_the_runs_as_they_stand(
    designer: Engine,
) -> None:
    items, digest = read_items(ITEMS)
    first = start_batch(designer, "expense-approval", items, digest, "dev")
    plan = plan_batch(designer, designer.workflow("expense-approval"), items, digest)
    assert (plan.earlier, plan.to_start) == (4, 0)
    again = start_batch(designer, "expense-approval", items, digest, "dev", source="x.jsonl")
    assert (again.started, again.earlier, again.total) == (0, 4, 4)
    assert (again.waiting, again.succeeded) == (2, 2)
    assert [r["run"] for r in again.runs] == [r["run"] for r in first.runs]
    assert all(r["status"].endswith("(earlier)") for r in again.runs)
    assert designer.store.count_runs() == {"succeeded": 2, "waiting": 2}
    # A changed file is another batch; a second half started later only starts the rest.
    more = [*items, {"employee": "eve", "amount": 12, "category": "meals"}]
    s = start_batch(designer, "expense-approval", more, "other-digest", "dev")
    assert (s.started, s.earlier, s.succeeded) == (5, 0, 5 - 2)


def test_bad_items_are_counted_listed_and_not_started(designer: Engine) -> None:
    items, _ = read_items(ITEMS)
    items += [{"employee": "eve"}, {"employee": "fay", "amount": "lots", "category": "meals"}]
    wf = designer.workflow("expense-approval")
    plan = plan_batch(designer, wf, items, "d1")
    assert [b.index for b in plan.bad] == [4, 5] and plan.to_start == 4
    s = start_batch(designer, "expense-approval", items, "d1", "dev")
    assert (s.started, s.waiting, s.succeeded, len(s.bad)) == (4, 2, 2, 2)
    assert [b.index for b in s.bad] == [4, 5]
    first = item_error(s.bad[0].error)
    assert "amount" in first and "required field is missing" in first
    assert not first.startswith("item for workflow")
    assert "amount" in item_error(s.bad[1].error)
    # Starting again: still bad, still not started, the good ones not started twice.
    again = start_batch(designer, "expense-approval", items, "d1", "dev")
    assert (again.started, again.earlier, len(again.bad)) == (0, 4, 2)
    assert sum(designer.store.count_runs().values()) == 4


def test_a_reviewer_may_not_start_runs(designer: Engine) -> None:
    items, digest = read_items(ITEMS)
    with pytest.raises(AccessError, match="mia may not start runs"):
        start_batch(designer, "expense-approval", items, digest, "mia")
    assert designer.store.count_runs() == {}


def test_no_published_version_gives_none_and_a_message(designer: Engine) -> None:
    draft = parse_spec(
        {
            "id": "half-done",
            "name": "Half done",
            "nodes": [{"id": "start", "type": "trigger"}, {"id": "lost", "type": "end"}],
            "edges": [],
        }
    )
    assert designer.save_workflow(draft, by="dev", draft=True) == 1
    assert published_workflow(designer, "half-done") is None
    assert published_workflow(designer, "never-saved") is None
    assert published_workflow(designer, "expense-approval").version == 1
    assert "save a version without errors first" in NO_PUBLISHED.lower()
    with pytest.raises(NotFoundError, match="no published version"):
        start_batch(designer, "half-done", [{}], "d", "dev")


def test_an_item_with_a_lone_surrogate_is_planned_as_bad_and_the_rest_start(
    designer: Engine,
) -> None:
    items, digest = read_items(ITEMS)
    items[1] = {**items[1], "note": "train \ud800"}  # a JSON escape UTF-8 cannot encode
    plan = plan_batch(designer, designer.workflow("expense-approval"), items, digest)
    assert [b.index for b in plan.bad] == [1] and plan.to_start == 3
    assert "lone surrogate" in item_error(plan.bad[0].error)
    s = start_batch(designer, "expense-approval", items, digest, "dev")
    assert (s.started, [b.index for b in s.bad]) == (3, [1])
