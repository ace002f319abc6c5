"""Conformance: the reads of the Audit and Runs pages and the decisions dataset."""

from __future__ import annotations

import json
from datetime import timedelta

import duckdb
import pytest

from runtime.domain import Event, Settlement, WriteBatch
from runtime.errors import StoreError
from runtime.store.contract import Store
from tests.store.contract.records import T0, review, run


def _at(minutes: int):
    return T0 + timedelta(minutes=minutes)


def _step(run_id: str, node: str, kind: str, output: dict, minutes: int) -> Event:
    return Event(
        kind="step",
        run_id=run_id,
        node_id=node,
        at=_at(minutes),
        data={"type": kind, "branch": "next", "step": 1, "output": output},
    )


def _fill(store: Store) -> None:
    """Three runs, three reviews (two decided), one feedback row, a few events."""
    batch = WriteBatch()
    batch.runs["run_a1"] = run("run_a1", workflow_id="wf_a", minute=0, batch_id="b1")
    batch.runs["run_a2"] = run(
        "run_a2", workflow_id="wf_a", minute=10, workflow_version=2, status="failed"
    )
    batch.runs["run_b1"] = run(
        "run_b1", workflow_id="wf_b", minute=20, batch_id="b1", item={"text": "hi"}
    )
    batch.reviews += [
        review("rev_1", "run_a1", workflow_id="wf_a", minute=0),
        review("rev_2", "run_b1", workflow_id="wf_b", minute=20, node_id="gate"),
        review("rev_3", "run_a2", workflow_id="wf_a", minute=10),
    ]
    ai = {"label": "x", "model": "m", "model_version": "2"}
    batch.events += [
        _step("run_a1", "classify", "ai_classify", ai, 0),
        _step("run_a1", "classify", "ai_classify", {"label": "later"}, 1),  # after the review
        _step("run_a1", "route", "set_values", {"queue": "q"}, 0),  # not an AI step
        Event(
            kind="review.requested",
            run_id="run_a1",
            review_id="rev_1",
            node_id="check",
            at=_at(0),
            data={"note": "50% off"},
        ),
        Event(
            kind="review.requested",
            run_id="run_b1",
            review_id="rev_2",
            node_id="gate",
            at=_at(20),
            data={"note": "500 off"},
        ),
    ]
    batch.feedback.append(
        {
            "id": "fb_1",
            "run_id": "run_b1",
            "review_id": "rev_2",
            "workflow_id": "wf_b",
            "checkpoint_id": "gate",
            "node_id": "classify",
            "path": "classify.label",
            "input": {"text": "hi"},
            "ai_output": "x",
            "human_output": "y",
            "reviewer": "eve",
            "action": "edit",
            "reason": None,
            "note": None,
            "rating": None,
            "model": "m",
            "model_version": "3",
            "created_at": _at(25),
        }
    )
    store.commit(batch)
    with store.unit_of_work() as uow:
        uow.settle(
            [
                Settlement(
                    id="rev_1",
                    status="decided",
                    decided_by="mia",
                    decided_at=_at(5),
                    action="reject",
                    reason="too_high",
                ),
                Settlement(
                    id="rev_2",
                    status="decided",
                    decided_by="eve",
                    decided_at=_at(25),
                    action="edit",
                    data={"classify.label": "y"},
                ),
            ]
        )


def test_the_decisions_dataset_by_hand(store: Store) -> None:
    _fill(store)
    rows = store.decisions_dataset()
    assert [r["review_id"] for r in rows] == ["rev_1", "rev_2"]  # rev_3 is pending
    first, second = rows
    assert first["decided_at"] == _at(5) and first["requested_at"] == _at(0)
    assert first["seconds_to_decision"] == 300.0
    assert first["input"] == {"amount": 70, "who": "ada"}  # the run's item: no feedback row
    assert first["ai_output"] == {"classify": {"label": "x", "model": "m", "model_version": "2"}}
    assert first["human_output"] is None
    assert (first["decision"], first["reason"], first["reviewer"]) == ("reject", "too_high", "mia")
    assert (first["model"], first["model_version"], first["training_rows"]) == ("m", "2", 0)
    assert (first["checkpoint"], first["review_kind"], first["status"]) == (
        "check",
        "approval",
        "decided",
    )
    assert second["input"] == {"text": "hi"}
    assert second["ai_output"] == {"classify.label": "x"}
    assert second["human_output"] == {"classify.label": "y"}
    assert (second["decision"], second["reviewer"], second["checkpoint"]) == ("edit", "eve", "gate")
    assert (second["model"], second["model_version"], second["training_rows"]) == ("m", "3", 1)


def test_the_decisions_dataset_filters_and_pages(store: Store) -> None:
    _fill(store)

    def ids(**kw):
        return [r["review_id"] for r in store.decisions_dataset(**kw)]

    assert ids(workflow_id="wf_b") == ["rev_2"]
    assert ids(workflow_id="nope") == []
    assert ids(since=_at(10)) == ["rev_2"]
    assert ids(until=_at(10)) == ["rev_1"]
    assert ids(since=_at(5), until=_at(25)) == ["rev_1"]  # since inclusive, until exclusive
    assert ids(limit=1) == ["rev_1"] and ids(limit=1, offset=1) == ["rev_2"]


def test_the_decisions_dataset_of_an_empty_store(store: Store) -> None:
    assert store.decisions_dataset() == []


def test_runs_filter_by_version_batch_and_time(store: Store) -> None:
    _fill(store)

    def ids(**kw):
        return [r["id"] for r in store.list_runs(**kw)]

    assert ids() == ["run_b1", "run_a2", "run_a1"]
    assert ids(workflow_id="wf_a", workflow_version=2) == ["run_a2"]
    assert ids(batch_id="b1") == ["run_b1", "run_a1"]
    assert ids(since=_at(10)) == ["run_b1", "run_a2"]
    assert ids(until=_at(10)) == ["run_a1"]
    assert ids(batch_id="b1", since=_at(1), until=_at(21)) == ["run_b1"]
    row = store.list_runs(batch_id="b1")[0]
    assert (row["batch_id"], row["started_by"]) == ("b1", "sam")


def test_a_runs_reviews_and_feedback(store: Store) -> None:
    _fill(store)
    reviews = store.run_reviews("run_a1")
    assert [(r["id"], r["status"], r["action"], r["reason"]) for r in reviews] == [
        ("rev_1", "decided", "reject", "too_high")
    ]
    assert store.run_reviews("run_none") == []
    assert [f["id"] for f in store.list_feedback(run_id="run_b1")] == ["fb_1"]
    assert store.list_feedback(run_id="run_a1") == []


def test_audit_search_by_review_node_time_and_literal_text(store: Store) -> None:
    _fill(store)

    def kinds(**kw):
        return [(e["kind"], e["node_id"]) for e in store.audit_events(**kw)]

    assert kinds(review_id="rev_2") == [("review.requested", "gate")]
    assert kinds(node_id="classify") == [("step", "classify"), ("step", "classify")]
    assert kinds(run_id="run_a1", since=_at(1)) == [("step", "classify")]
    assert kinds(run_id="run_a1", until=_at(1)) == [
        ("review.requested", "check"),
        ("step", "route"),
        ("step", "classify"),
    ]
    assert [e["review_id"] for e in store.audit_events(text="50%")] == ["rev_1"]  # % literal
    assert [e["review_id"] for e in store.audit_events(text="OFF")] == ["rev_2", "rev_1"]
    assert store.audit_events(text="5_0") == []  # _ is no wildcard either


def test_one_audit_row(store: Store) -> None:
    _fill(store)
    row = store.audit_event(1)
    assert row is not None
    assert (row["seq"], row["kind"], row["node_id"]) == (1, "step", "classify")
    assert len(row["hash"]) == 64 and len(row["prev_hash"]) == 64
    assert store.audit_event(999) is None


def test_exports_take_filters_and_a_limit(store: Store, tmp_path) -> None:
    _fill(store)
    out = tmp_path / "a.jsonl"
    assert store.export("audit", "jsonl", out, filters={"run_id": "run_a1"}) == 4
    seqs = [json.loads(line)["seq"] for line in out.read_text().splitlines()]
    assert seqs == [1, 2, 3, 4]  # oldest first
    assert store.export("audit", "csv", tmp_path / "a.csv", filters={"kind": "step"}, limit=2) == 2
    out = tmp_path / "d.parquet"
    assert store.export("decisions", "parquet", out, filters={"workflow_id": "wf_b"}) == 1
    got = duckdb.connect().execute(f"SELECT review_id, decision FROM '{out}'").fetchall()
    assert got == [("rev_2", "edit")]
    out = tmp_path / "d.jsonl"
    assert store.export("decisions", "jsonl", out) == 2
    first = json.loads(out.read_text().splitlines()[0])
    assert first["ai_output"] == {"classify": {"label": "x", "model": "m", "model_version": "2"}}
    assert store.export("feedback", "csv", tmp_path / "f.csv", filters={"workflow_id": "x"}) == 0


@pytest.mark.parametrize(
    ("kind", "filters", "limit", "message"),
    [
        ("audit", {"colour": "red"}, None, "an audit search has no filter colour"),
        ("decisions", {"run_id": "r"}, None, "the decisions dataset has no filter run_id"),
        ("runs", {"status": "failed"}, None, "the runs export takes no filters"),
        ("audit", None, -1, "an export limit must be 0 or more, not -1"),
    ],
)
def test_bad_export_filters_are_named(store: Store, tmp_path, kind, filters, limit, message):
    with pytest.raises(StoreError, match=message):
        store.export(kind, "csv", tmp_path / "x.csv", filters=filters, limit=limit)
