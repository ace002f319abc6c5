"""Conformance: the run's data kept with each review that carries it, and forks' origins,
written in the unit of work with the rest (or not at all)."""

from __future__ import annotations

import pytest

from runtime.domain import WriteBatch
from runtime.store.contract import Store
from tests.store.contract.records import T0, review, run

SNAP = {
    "item": {"amount": 70, "who": "ada"},
    "steps": {"start": {"amount": 70}},
    "review": None,
    "visits": {"check": 1},
    "step_count": 2,
}


def test_a_review_snapshot_is_kept_and_read_back(store: Store) -> None:
    batch = WriteBatch(runs={"run_1": run("run_1")})
    batch.reviews += [review("rev_1", "run_1", snapshot=SNAP), review("rev_2", "run_1")]
    store.commit(batch)
    assert store.checkpoint_state("rev_1") == SNAP
    assert store.checkpoint_state("rev_2") is None  # none given: none kept
    assert store.checkpoint_state("rev_nope") is None
    assert store.checkpoint_state_ids("run_1") == {"rev_1"}
    assert store.checkpoint_state_ids("run_2") == set()


def test_a_fork_origin_is_written_with_its_unit_of_work(store: Store) -> None:
    origin = {
        "run_id": "run_2",
        "forked_from": "run_1",
        "node_id": "check",
        "review_id": "rev_1",
        "original": {"status": "decided", "action": "approve", "by": "mia"},
        "decision": {"action": "reject", "reason": "too_high"},
        "forked_by": "ada",
        "forked_at": T0,
    }
    with pytest.raises(RuntimeError), store.unit_of_work() as uow:
        uow.record_fork(origin)
        raise RuntimeError("rolled back")
    assert store.fork_origin("run_2") is None and store.forks_of("run_1") == []
    with store.unit_of_work() as uow:
        uow.write(WriteBatch(runs={"run_2": run("run_2")}))
        uow.record_fork(origin)
    assert store.fork_origin("run_2") == origin
    assert store.fork_origin("run_1") is None
    assert store.forks_of("run_1") == [origin]
    with store.unit_of_work() as uow:
        uow.record_fork({**origin, "run_id": "run_3", "original": None, "forked_at": T0})
    assert [f["run_id"] for f in store.forks_of("run_1")] == ["run_2", "run_3"]
    assert store.fork_origin("run_3")["original"] is None
