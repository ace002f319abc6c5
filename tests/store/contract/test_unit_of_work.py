"""Conformance: a unit of work writes everything or nothing; claims; settling reviews."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import pytest

from runtime.domain import Event, WriteBatch
from runtime.errors import NotFoundError, ReviewNotPendingError
from runtime.store.contract import Store
from tests.store.contract.records import T0, review, run, settlement, waiting


def _full_batch() -> WriteBatch:
    batch = WriteBatch()
    batch.runs["run_1"] = run("run_1")
    batch.reviews.append(review("rev_1", "run_1"))
    batch.feedback.append(
        {
            "id": "fb_1",
            "run_id": "run_1",
            "review_id": "rev_1",
            "workflow_id": "wf",
            "checkpoint_id": "check",
            "node_id": "classify",
            "path": "label",
            "input": {"text": "hi"},
            "ai_output": "billing",
            "human_output": "refund",
            "reviewer": "mia",
            "action": "edit",
            "model": "support-intents",
            "model_version": 3,
            "created_at": T0,
        }
    )
    batch.records.append(
        {
            "table_name": "customers",
            "key": "c1",
            "value": {"tier": "gold"},
            "deleted": False,
            "run_id": "run_1",
            "node_id": "save",
            "idempotency_key": "run_1:save:1",
            "updated_at": T0,
        }
    )
    batch.outbox.append(
        {
            "id": "out_1",
            "run_id": "run_1",
            "node_id": "mail",
            "channel": "email",
            "recipient": "ada@example.com",
            "subject": "hello",
            "body": "hi",
            "status": "pending",
            "attempts": 0,
            "idempotency_key": "run_1:mail:1",
            "created_at": T0,
        }
    )
    batch.events += [
        Event(kind="run.started", run_id="run_1", actor="sam", at=T0),
        Event(kind="review.requested", run_id="run_1", review_id="rev_1", node_id="check"),
    ]
    return batch


def test_a_unit_of_work_writes_every_kind_of_row(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.write(_full_batch())
    loaded = store.load_run("run_1")
    assert (loaded.status, loaded.item, loaded.visits) == (
        "waiting",
        {"amount": 70, "who": "ada"},
        {"check": 1},
    )
    assert store.get_review("rev_1")["team"] == "managers"
    [fb] = store.list_feedback(workflow_id="wf")
    assert (fb["human_output"], fb["model_version"]) == ("refund", "3")
    assert store.get_record("customers", "c1")["value"] == {"tier": "gold"}
    assert [m["id"] for m in store.list_outbox(run_id="run_1")] == ["out_1"]
    assert [e["kind"] for e in store.run_events("run_1")] == ["run.started", "review.requested"]
    assert store.verify_audit_chain()[:2] == (True, 2)


def test_a_run_is_inserted_then_updated(store: Store) -> None:
    store.commit(WriteBatch(runs={"run_1": run("run_1")}))
    done = replace(
        run("run_1"),
        is_new=False,
        status="succeeded",
        current_node=None,
        step_count=3,
        result="approved",
        finished_at=T0 + timedelta(minutes=5),
    )
    store.commit(WriteBatch(runs={"run_1": done}))
    loaded = store.load_run("run_1")
    assert (loaded.status, loaded.result, loaded.step_count) == ("succeeded", "approved", 3)
    assert store.run_ids_by_status("succeeded") == ["run_1"]
    assert store.run_ids_by_status("waiting") == []


def test_many_runs_are_inserted_and_updated_together(store: Store) -> None:
    """Both the few-rows and the many-rows paths of a backend."""
    for n in (3, 40):
        runs = {f"r{n}_{i}": run(f"r{n}_{i}") for i in range(n)}
        store.commit(WriteBatch(runs=runs))
        store.commit(
            WriteBatch(runs={k: replace(r, is_new=False, status="failed") for k, r in runs.items()})
        )
        assert all(store.load_run(k).status == "failed" for k in runs)


def test_an_error_rolls_back_everything_chain_head_included(store: Store) -> None:
    store.append_events([Event(kind="before")])
    with pytest.raises(RuntimeError), store.unit_of_work() as uow:
        uow.write(_full_batch())
        raise RuntimeError("crash before the commit")
    with pytest.raises(NotFoundError):
        store.load_run("run_1")
    with pytest.raises(NotFoundError):
        store.get_review("rev_1")
    assert store.list_feedback() == [] and store.list_outbox() == []
    assert store.get_record("customers", "c1") is None
    assert store.run_events("run_1") == []
    store.append_events([Event(kind="after")])
    assert store.verify_audit_chain()[:2] == (True, 2)
    assert [e["kind"] for e in store.audit_events()] == ["after", "before"]


def test_a_claim_reads_back_the_review_and_its_run(store: Store) -> None:
    [rid] = waiting(store)
    claim = store.review_claim(rid)
    assert (claim.id, claim.run_id, claim.node_id, claim.status) == (
        rid,
        "run_0",
        "check",
        "pending",
    )
    assert claim.reason_codes == ["too_high"] and claim.actions == ["approve", "reject"]
    assert claim.form == [{"name": "amount", "type": "number"}]
    assert claim.run.item == {"amount": 70, "who": "ada"}
    assert claim.run.steps == {"start": {"amount": 70}}
    assert claim.run.visits == {"check": 1}
    assert claim.run.started_by == "sam"
    assert set(store.review_claims([rid, "rev_missing"])) == {rid}
    assert store.pending_review_for_run("run_0")["id"] == rid
    with pytest.raises(NotFoundError):
        store.review_claim("rev_missing")


def test_settle_changes_only_pending_reviews(store: Store) -> None:
    a, b = waiting(store, 2)
    with store.unit_of_work() as uow:
        assert uow.settle([settlement(a, "mia")]) == {a}
    with store.unit_of_work() as uow:
        assert uow.settle([settlement(a, "eve"), settlement(b, "eve")]) == {b}
        refused = uow.refusal(a)
    assert isinstance(refused, ReviewNotPendingError) and "mia" in str(refused)
    assert store.get_review(a)["decided_by"] == "mia"
    with pytest.raises(ReviewNotPendingError, match="mia"):
        store.review_claim(a)
    claims = store.review_claims([a])
    assert (claims[a].status, claims[a].decided_by) == ("decided", "mia")


def test_settling_many_reviews_at_once(store: Store) -> None:
    ids = waiting(store, 30)
    with store.unit_of_work() as uow:
        assert uow.settle([settlement(r) for r in ids[:20]]) == set(ids[:20])
    with store.unit_of_work() as uow:
        assert uow.settle([settlement(r, "eve") for r in ids]) == set(ids[20:])
    assert store.count_pending_reviews() == 0


def test_a_settle_in_a_failed_unit_of_work_is_undone(store: Store) -> None:
    [rid] = waiting(store)
    with pytest.raises(RuntimeError), store.unit_of_work() as uow:
        uow.settle([settlement(rid)])
        raise RuntimeError("boom")
    assert store.review_claim(rid).status == "pending"


def test_exactly_one_of_many_threads_settling_a_review_wins(store: Store) -> None:
    [rid] = waiting(store)
    won: list[str] = []
    start = threading.Barrier(8)

    def settle(user: str) -> None:
        start.wait()
        with store.unit_of_work() as uow:
            if uow.settle([settlement(rid, user)]):
                won.append(user)

    threads = [threading.Thread(target=settle, args=(f"user{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1
    assert store.get_review(rid)["decided_by"] == won[0]


def test_cancel_reviews_cancels_only_that_runs_pending_ones(store: Store) -> None:
    a, b = waiting(store, 2)
    with store.unit_of_work() as uow:
        assert uow.cancel_reviews("run_0", "admin", T0) == [a]
        assert uow.cancel_reviews("run_0", "admin", T0) == []
    assert store.get_review(a)["status"] == "cancelled"
    assert store.get_review(b)["status"] == "pending"


def test_a_refusal_for_a_missing_review_is_not_found(store: Store) -> None:
    with store.unit_of_work() as uow:
        assert isinstance(uow.refusal("rev_nope"), NotFoundError)


def test_assign_review_is_a_compare_and_set_on_the_holder(store: Store) -> None:
    a, b = waiting(store, 2)
    with store.unit_of_work() as uow:
        assert uow.assign_review(a, "mia", expected=None)
        assert not uow.assign_review(a, "max", expected=None)  # mia holds it now
        assert uow.assign_review(a, "max", expected="mia")
        assert not uow.assign_review("rev_nope", "mia", expected=None)
    assert store.get_review(a)["assignee"] == "max"
    assert store.review_claim(a).assignee == "max"
    assert store.get_review(b)["assignee"] is None
    with store.unit_of_work() as uow:
        assert uow.assign_review(a, None, expected="max")
    assert store.get_review(a)["assignee"] is None


def test_assign_review_changes_only_pending_reviews_and_rolls_back(store: Store) -> None:
    a, b = waiting(store, 2)
    with store.unit_of_work() as uow:
        uow.settle([settlement(a)])
        assert not uow.assign_review(a, "mia", expected=None)
    with pytest.raises(RuntimeError), store.unit_of_work() as uow:
        assert uow.assign_review(b, "mia", expected=None)
        raise RuntimeError("boom")
    assert store.get_review(b)["assignee"] is None


def test_exactly_one_of_many_threads_claiming_a_review_wins(store: Store) -> None:
    [rid] = waiting(store)
    won: list[str] = []
    start = threading.Barrier(8)

    def claim(user: str) -> None:
        start.wait()
        with store.unit_of_work() as uow:
            if uow.assign_review(rid, user, expected=None):
                won.append(user)

    threads = [threading.Thread(target=claim, args=(f"user{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1
    assert store.get_review(rid)["assignee"] == won[0]
