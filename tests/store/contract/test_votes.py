"""Conformance: votes on multi-approver reviews (one per person and review) and routing."""

from __future__ import annotations

from datetime import timedelta

from runtime.domain import WriteBatch
from runtime.store.contract import Store
from tests.store.contract.records import T0, review, run


def _pending(store: Store) -> None:
    batch = WriteBatch()
    batch.runs["run_1"] = run("run_1")
    batch.reviews.append(review("rev_1", "run_1"))
    store.commit(batch)


def test_one_vote_per_person_and_review_oldest_first(store: Store) -> None:
    _pending(store)
    with store.unit_of_work() as uow:
        assert uow.add_vote("rev_1", voter="fin", action="approve", at=T0, note="fine")
        assert uow.add_vote(
            "rev_1",
            voter="fay",
            action="reject",
            at=T0 - timedelta(minutes=1),
            step=1,
            reason="too_high",
        )
    with store.unit_of_work() as uow:  # the same person again: refused, nothing written
        assert not uow.add_vote("rev_1", voter="fin", action="reject", at=T0)
    votes = store.review_votes(["rev_1", "rev_none"])
    assert list(votes) == ["rev_1"]
    assert [(v["voter"], v["action"], v["step"]) for v in votes["rev_1"]] == [
        ("fay", "reject", 1),
        ("fin", "approve", 0),
    ]
    assert votes["rev_1"][1]["note"] == "fine" and votes["rev_1"][0]["reason"] == "too_high"
    assert votes["rev_1"][1]["voted_at"] == T0
    assert store.review_votes([]) == {}


def test_a_vote_rolls_back_with_its_unit_of_work(store: Store) -> None:
    _pending(store)
    try:
        with store.unit_of_work() as uow:
            uow.add_vote("rev_1", voter="fin", action="approve", at=T0)
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert store.review_votes(["rev_1"]) == {}


def test_route_review_moves_only_a_pending_review(store: Store) -> None:
    _pending(store)
    with store.unit_of_work() as uow:
        assert uow.route_review("rev_1", team="finance", assignee="fin")
        assert not uow.route_review("rev_1", team="finance", assignee="fin")  # no change
    got = store.get_review("rev_1")
    assert (got["team"], got["assignee"]) == ("finance", "fin")
    with store.unit_of_work() as uow:
        uow.cancel_reviews("run_1", "ops", T0)
    with store.unit_of_work() as uow:
        assert not uow.route_review("rev_1", team="risk", assignee=None)
    assert store.get_review("rev_1")["team"] == "finance"
