"""Conformance: exactly one decider wins (holds and the journal); due reviews."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from runtime.errors import NotFoundError, ReviewNotPendingError
from runtime.store.contract import Store
from tests.store.contract.records import T0, settlement, waiting


def _race(n: int, attempt: Callable[[str], Any]) -> tuple[list[Any], list[Exception]]:
    """Run ``attempt(user)`` in ``n`` threads at once; their results and errors."""
    results: list[Any] = []
    errors: list[Exception] = []
    start = threading.Barrier(n)

    def go(user: str) -> None:
        start.wait()
        try:
            results.append((user, attempt(user)))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(f"user{i}",)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


def test_exactly_one_of_many_threads_holds_a_review(store: Store) -> None:
    [rid] = waiting(store)
    results, errors = _race(
        8, lambda user: store.hold_reviews([rid], status="decided", by=user, at=T0)
    )
    assert not errors
    winners = [user for user, (held, _) in results if held == [rid]]
    assert len(winners) == 1
    for user, (held, busy) in results:
        if user != winners[0]:
            assert held == [] and isinstance(busy[rid], ReviewNotPendingError)
            assert winners[0] in str(busy[rid])
    assert store.held_review_ids() == [rid]
    with pytest.raises(ReviewNotPendingError, match=winners[0]):
        store.check_not_held(rid)


def test_released_reviews_can_be_held_again(store: Store) -> None:
    a, b = waiting(store, 2)
    held, busy = store.hold_reviews([a, b, a], status="expired", by="sweeper", at=T0)
    assert held == [a, b] and busy == {}
    assert store.count_pending_reviews() == 0  # held reviews leave the queue
    store.release_reviews([a, b])
    assert store.held_review_ids() == []
    store.check_not_held(a)
    assert store.hold_reviews([a], status="decided", by="mia", at=T0)[0] == [a]
    store.release_reviews([a])


def test_exactly_one_of_many_threads_journals_a_decision(store: Store) -> None:
    [rid] = waiting(store)
    results, errors = _race(
        8,
        lambda user: store.journal_decision(
            rid, by=user, at=T0, decision={"action": "approve", "by": user}
        ),
    )
    assert len(results) == 1 and len(errors) == 7
    winner = results[0][0]
    assert all(isinstance(e, ReviewNotPendingError) and winner in str(e) for e in errors)
    [entry] = store.journal_entries()
    assert (entry.review_id, entry.decided_by, entry.review_status) == (rid, winner, "pending")
    assert entry.decision == {"action": "approve", "by": winner}
    assert rid in store.held_review_ids()


def test_a_decided_review_cannot_be_journaled(store: Store) -> None:
    [rid] = waiting(store)
    with store.unit_of_work() as uow:
        uow.settle([settlement(rid, "mia")])
    with pytest.raises(ReviewNotPendingError, match="mia"):
        store.journal_decision(rid, by="eve", at=T0, decision={})
    with pytest.raises(NotFoundError):
        store.journal_decision("rev_nope", by="eve", at=T0, decision={})


def test_journal_entries_come_back_in_order_with_review_status(store: Store) -> None:
    a, b, c = waiting(store, 3)
    seqs = [
        store.journal_decision(r, by="mia", at=T0, decision={"n": i})
        for i, r in enumerate([b, a, c])
    ]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    with store.unit_of_work() as uow:
        uow.settle([settlement(a)])
    store.release_reviews([a])
    entries = store.journal_entries()
    assert [(e.seq, e.review_id, e.review_status) for e in entries] == [
        (seqs[0], b, "pending"),
        (seqs[1], a, "decided"),
        (seqs[2], c, "pending"),
    ]
    with store.unit_of_work() as uow:
        uow.forget_journal([seqs[1]])
    store.forget_journal([seqs[0]])
    assert [e.review_id for e in store.journal_entries()] == [c]


def test_due_reviews_by_deadline(store: Store) -> None:
    late = waiting(store, 1, prefix="late", deadline=T0 - timedelta(hours=1), on_timeout="expire")
    later = waiting(store, 1, prefix="later", deadline=T0 - timedelta(hours=2), escalate_to="leads")
    waiting(store, 1, prefix="future", deadline=T0 + timedelta(hours=1))
    waiting(store, 1, prefix="none")
    settled = waiting(store, 1, prefix="done", deadline=T0 - timedelta(hours=3))
    with store.unit_of_work() as uow:
        uow.settle([settlement(r) for r in settled])
    due = store.due_reviews(T0)
    assert [d.id for d in due] == [later[0], late[0]]
    assert (due[0].escalate_to, due[1].on_timeout) == ("leads", "expire")
    assert due[0].deadline == T0 - timedelta(hours=2) and due[0].node_id == "check"
    assert store.due_reviews(T0 - timedelta(days=1)) == []
