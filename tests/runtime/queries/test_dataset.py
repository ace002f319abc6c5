"""The decisions dataset through runtime.queries.dataset, on real decisions of the example
workflows, against answers worked out by hand from what each reviewer did."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from runtime import Engine, open_engine
from runtime.auth import add_user
from runtime.errors import AccessError
from runtime.queries import dataset
from runtime.queries.dataset import DatasetFilter
from runtime.seed import EXAMPLES_DIR
from runtime.spec import load_yaml

USERS = {
    "ops": ["operator"],
    "rae": ["reviewer"],
    "dev": ["designer"],
    "aud": ["auditor"],
}


def _user(engine: Engine, name: str) -> dict:
    return engine.store.get_user(name)


@pytest.fixture()
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = open_engine(str(tmp_path / "ds.duckdb"))
    for name, roles in USERS.items():
        teams = ["managers", "triage"] if name == "rae" else []
        add_user(eng.store, name, roles=roles, teams=teams, password="p" * 12)
    eng.forget_users()
    yield eng
    eng.store.close()


def _decide_three(engine: Engine) -> dict[str, str]:
    """An expense rejected, a ticket's label corrected, a spam ticket rejected (by rae)."""
    expense = engine.save_workflow(load_yaml(EXAMPLES_DIR / "expense-approval.yaml"), by="dev")
    tickets = engine.save_workflow(load_yaml(EXAMPLES_DIR / "ticket-routing.yaml"), by="dev")
    item = {"employee": "bob", "amount": 240, "category": "travel", "note": "train"}
    e1 = engine.start(expense, item, by="ops")
    t1 = engine.start(
        tickets,
        {"ticket_id": "T-1003", "subject": "Webhook deliveries fail with a timeout"},
        by="ops",
    )
    t2 = engine.start(tickets, {"ticket_id": "T-1005", "subject": "BUY CHEAP WATCHES"}, by="ops")
    assert [r.status for r in (e1, t1, t2)] == ["waiting"] * 3
    engine.decide(e1.review_id, {"action": "reject", "reason": "over_policy"}, by="rae")
    engine.decide(
        t1.review_id, {"action": "edit", "data": {"classify.label": "technical"}}, by="rae"
    )
    engine.decide(t2.review_id, {"action": "reject", "reason": "spam"}, by="rae")
    return {"expense": e1.review_id, "edit": t1.review_id, "spam": t2.review_id}


def test_an_empty_store_has_no_rows(engine: Engine) -> None:
    assert dataset.decision_rows(engine.store, None) == []


def test_one_row_per_decision_by_hand(engine: Engine) -> None:
    ids = _decide_three(engine)
    rows = dataset.decision_rows(engine.store, _user(engine, "aud"))
    assert [r["review_id"] for r in rows] == [ids["expense"], ids["edit"], ids["spam"]]
    expense, edit, spam = rows
    # the expense: no AI step, no feedback row; the person rejected with a reason
    assert expense["input"] == {
        "employee": "bob",
        "amount": 240,
        "category": "travel",
        "note": "train",
    }
    assert (expense["ai_output"], expense["human_output"]) == (None, None)
    assert (expense["decision"], expense["reason"], expense["reviewer"]) == (
        "reject",
        "over_policy",
        "rae",
    )
    assert (expense["model"], expense["model_version"], expense["training_rows"]) == (None, None, 0)
    assert (expense["workflow_id"], expense["checkpoint"], expense["review_kind"]) == (
        "expense-approval",
        "manager",
        "approval",
    )
    # the correction: one feedback row, keyed by the field the person changed
    assert edit["input"] == {
        "ticket_id": "T-1003",
        "subject": "Webhook deliveries fail with a timeout",
    }
    assert edit["ai_output"] == {"classify.label": "shipping"}
    assert edit["human_output"] == {"classify.label": "technical"}
    assert (edit["decision"], edit["reviewer"], edit["training_rows"]) == ("edit", "rae", 1)
    assert (edit["model"], edit["model_version"]) == ("support-intents", "1")
    # the rejection judges the classifier's output: the person's output is "none of it"
    classified = engine.store.run_outputs(spam["run_id"])["classify"]
    assert spam["ai_output"] == {"classify": classified}
    assert spam["human_output"] == {"classify": None}
    assert (spam["decision"], spam["reason"]) == ("reject", "spam")
    for row in rows:
        assert row["decided_at"] >= row["requested_at"]
        assert row["seconds_to_decision"] == pytest.approx(
            (row["decided_at"] - row["requested_at"]).total_seconds(), abs=0.001
        )


def test_filters_by_workflow_and_time(engine: Engine) -> None:
    ids = _decide_three(engine)
    rows = dataset.decision_rows(engine.store, None)
    second_at = rows[1]["decided_at"]

    def got(**kw) -> list[str]:
        return [
            r["review_id"] for r in dataset.decision_rows(engine.store, None, DatasetFilter(**kw))
        ]

    assert got(workflow_id="expense-approval") == [ids["expense"]]
    assert got(workflow_id="ticket-routing") == [ids["edit"], ids["spam"]]
    assert got(since=second_at) == [ids["edit"], ids["spam"]]
    assert got(until=second_at) == [ids["expense"]]
    assert got(since=second_at + timedelta(days=1)) == []
    assert [
        r["review_id"] for r in dataset.decision_rows(engine.store, None, limit=1, offset=2)
    ] == [ids["spam"]]
    with pytest.raises(ValueError, match=r"ends .* before it starts"):
        got(since=second_at, until=second_at)


def test_who_may_read_it(engine: Engine) -> None:
    _decide_three(engine)
    for name in ("aud", "dev"):
        assert len(dataset.decision_rows(engine.store, _user(engine, name))) == 3
    for name in ("rae", "ops"):
        with pytest.raises(AccessError, match=f"user {name} may not read the decisions dataset"):
            dataset.decision_rows(engine.store, _user(engine, name))


def test_exports_as_json_lines_parquet_and_csv(engine: Engine, tmp_path: Path) -> None:
    _decide_three(engine)
    rows = dataset.decision_rows(engine.store, None)
    out = tmp_path / "d.jsonl"
    assert dataset.export_dataset(engine.store, None, "decisions", "jsonl", out) == 3
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(x["review_id"], x["decision"], x["ai_output"], x["human_output"]) for x in lines] == [
        (r["review_id"], r["decision"], r["ai_output"], r["human_output"]) for r in rows
    ]
    out = tmp_path / "d.parquet"
    filters = DatasetFilter(workflow_id="ticket-routing")
    assert dataset.export_dataset(engine.store, None, "decisions", "parquet", out, filters) == 2
    got = duckdb.connect().execute(f"SELECT reason, model FROM '{out}'").fetchall()
    assert got == [(None, "support-intents"), ("spam", "support-intents")]
    out = tmp_path / "f.csv"
    # the feedback rows: the correction and the rejection's judged output
    assert dataset.export_dataset(engine.store, None, "feedback", "csv", out, filters) == 2
    assert dataset.export_dataset(engine.store, None, "decisions", "csv", out, limit=1) == 1
    with pytest.raises(ValueError, match="feedback export takes a workflow, not a time window"):
        dataset.export_dataset(
            engine.store, None, "feedback", "csv", out, DatasetFilter(since=rows[0]["decided_at"])
        )
