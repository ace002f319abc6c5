"""Conformance: the review queue and the run list filter and page."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from runtime.domain import WriteBatch
from runtime.store.contract import Store
from tests.store.contract.records import T0, review, run, settlement


def _queue(store: Store) -> None:
    """Eight pending reviews over two workflows, teams, nodes, assignees and priorities."""
    rows = [  # id, workflow, team, node, assignee, priority, minute
        ("r1", "wf_a", "managers", "check", None, "normal", 1),
        ("r2", "wf_a", "managers", "check", None, "urgent", 5),
        ("r3", "wf_a", "finance", "check", "mia", "high", 2),
        ("r4", "wf_b", None, "triage", None, "normal", 0),
        ("r5", "wf_b", "finance", "triage", None, "low", 3),
        ("r6", "wf_b", "support", "triage", "eve", "urgent", 4),
        ("r7", "wf_a", "support", "check", None, "high", 6),
        ("r8", "wf_b", "managers", "check", None, "normal", 7),
    ]
    batch = WriteBatch()
    for rid, wf, team, node, assignee, priority, minute in rows:
        run_id = f"run_{rid}"
        batch.runs[run_id] = run(run_id, workflow_id=wf, minute=minute, current_node=node)
        batch.reviews.append(
            review(
                rid,
                run_id,
                workflow_id=wf,
                minute=minute,
                team=team,
                node_id=node,
                assignee=assignee,
                priority=priority,
            )
        )
    store.commit(batch)


def _ids(rows: list[dict]) -> list[str]:
    return [r["id"] for r in rows]


def test_pending_reviews_are_urgent_first_then_oldest(store: Store) -> None:
    _queue(store)
    assert _ids(store.list_pending_reviews()) == ["r6", "r2", "r3", "r7", "r4", "r1", "r8", "r5"]
    first = store.list_pending_reviews()[0]
    assert first["context"]["item"] == {"amount": 70, "who": "ada"}
    assert store.count_pending_reviews() == 8


def test_pending_reviews_page(store: Store) -> None:
    _queue(store)
    everything = _ids(store.list_pending_reviews())
    pages = [_ids(store.list_pending_reviews(limit=3, offset=o)) for o in (0, 3, 6, 9)]
    assert pages[0] + pages[1] + pages[2] == everything and pages[3] == []
    assert [len(p) for p in pages] == [3, 3, 2, 0]


def test_pending_reviews_filter(store: Store) -> None:
    _queue(store)
    assert _ids(store.list_pending_reviews(team="finance")) == ["r3", "r5"]
    assert _ids(store.list_pending_reviews(teams=["support"])) == ["r6", "r7", "r4"]
    assert _ids(store.list_pending_reviews(teams=[])) == ["r4"]
    assert _ids(store.list_pending_reviews(workflow_id="wf_b")) == ["r6", "r4", "r8", "r5"]
    assert _ids(store.list_pending_reviews(node_id="triage")) == ["r6", "r4", "r5"]
    assert _ids(store.list_pending_reviews(assignee="mia")) == ["r3"]
    assert _ids(store.list_pending_reviews(priority="urgent")) == ["r6", "r2"]
    assert _ids(
        store.list_pending_reviews(workflow_id="wf_a", node_id="check", team="managers")
    ) == [
        "r2",
        "r1",
    ]


def test_decided_and_held_reviews_leave_the_queue(store: Store) -> None:
    _queue(store)
    with store.unit_of_work() as uow:
        uow.settle([settlement("r2")])
    store.hold_reviews(["r6"], status="decided", by="mia", at=T0)
    assert "r2" not in _ids(store.list_pending_reviews())
    assert "r6" not in _ids(store.list_pending_reviews())
    assert store.count_pending_reviews() == 6
    store.release_reviews(["r6"])
    assert store.count_pending_reviews() == 7


def _runs(store: Store) -> None:
    """Runs of three workflows; wf_a has a managers review, wf_b an unteamed one, wf_c none."""
    batch = WriteBatch()
    specs = [  # run id, workflow, status, started by, minute
        ("a1", "wf_a", "waiting", "sam", 0),
        ("a2", "wf_a", "succeeded", "sam", 1),
        ("b1", "wf_b", "waiting", "sam", 2),
        ("c1", "wf_c", "failed", "ada", 3),
        ("c2", "wf_c", "succeeded", "sam", 4),
        ("d1", "wf_d", "waiting", "sam", 5),
    ]
    for run_id, wf, status, by, minute in specs:
        batch.runs[run_id] = run(
            run_id, workflow_id=wf, status=status, started_by=by, minute=minute
        )
    batch.reviews += [
        review("rev_a1", "a1", workflow_id="wf_a", team="managers"),
        review("rev_b1", "b1", workflow_id="wf_b", team=None),
        review("rev_d1", "d1", workflow_id="wf_d", team="finance", assignee="mia"),
    ]
    store.commit(batch)
    with store.unit_of_work() as uow:  # a decided review still makes its workflow visible
        uow.settle([settlement("rev_a1")])


def test_runs_are_newest_first_and_filter_and_page(store: Store) -> None:
    _runs(store)
    assert _ids(store.list_runs()) == ["d1", "c2", "c1", "b1", "a2", "a1"]
    assert _ids(store.list_runs(status="waiting")) == ["d1", "b1", "a1"]
    assert _ids(store.list_runs(workflow_id="wf_c")) == ["c2", "c1"]
    assert _ids(store.list_runs(limit=2, offset=2)) == ["c1", "b1"]
    assert store.count_runs() == {"waiting": 3, "succeeded": 2, "failed": 1}
    assert store.get_run("c1")["status"] == "failed"


def test_runs_visible_to_teams_and_a_user(store: Store) -> None:
    _runs(store)
    # managers: wf_a (their team) and wf_b (no team); wf_c has no reviews, wf_d is finance's
    assert _ids(store.list_runs(teams=["managers"])) == ["b1", "a2", "a1"]
    # ada started c1; mia is assigned wf_d's review
    assert _ids(store.list_runs(teams=[], user="ada")) == ["c1", "b1"]
    assert _ids(store.list_runs(teams=[], user="mia")) == ["d1", "b1"]
    assert _ids(store.list_runs(teams=["finance"], user="sam")) == ["d1", "c2", "b1", "a2", "a1"]
    assert _ids(store.list_runs(teams=["managers"], status="waiting")) == ["b1", "a1"]
    assert _ids(store.list_runs(user="ada")) == ["c1", "b1"]  # no teams: as teams=[]
    assert _ids(store.list_runs(teams=None, user=None)) == _ids(store.list_runs())


def test_run_visibility_pages(store: Store) -> None:
    _runs(store)
    assert _ids(store.list_runs(teams=["managers"], limit=2, offset=1)) == ["a2", "a1"]


def _decided(store: Store) -> None:
    """Five reviews: three of wf_a/check decided by people at minutes 1..3 (one of them an
    edit), one decided by a deadline, one still pending; one of another checkpoint."""
    batch = WriteBatch()
    for i, (wf, node) in enumerate([("wf_a", "check")] * 5 + [("wf_a", "other")], start=1):
        run_id = f"run_d{i}"
        batch.runs[run_id] = run(
            run_id, workflow_id=wf, item={"text": f"item {i}"}, current_node=node
        )
        batch.reviews.append(review(f"d{i}", run_id, workflow_id=wf, node_id=node, minute=i))
    store.commit(batch)
    with store.unit_of_work() as uow:
        settled = [
            replace(settlement(f"d{i}"), decided_at=T0 + timedelta(minutes=i)) for i in (1, 2)
        ]
        settled.append(
            replace(
                settlement("d3", action="edit"),
                decided_at=T0 + timedelta(minutes=3),
                data={"amount": 80},
            )
        )
        settled.append(replace(settlement("d4", by="system", action="approve")))
        settled.append(replace(settlement("d6"), decided_at=T0 + timedelta(minutes=9)))
        uow.settle(settled)


def test_decided_reviews_of_a_checkpoint_newest_first(store: Store) -> None:
    _decided(store)
    rows = store.decided_reviews("wf_a", "check")
    assert [r["id"] for r in rows] == ["d3", "d2", "d1"]  # not the deadline's, nor pending
    first = rows[0]
    assert first["item"] == {"text": "item 3"} and first["data"] == {"amount": 80}
    assert (first["action"], first["decided_by"], first["note"]) == ("edit", "mia", "ok")
    assert first["decided_at"] == T0 + timedelta(minutes=3) and first["run_id"] == "run_d3"
    assert [r["id"] for r in store.decided_reviews("wf_a", "check", limit=2)] == ["d3", "d2"]
    since = T0 + timedelta(minutes=2)
    assert [r["id"] for r in store.decided_reviews("wf_a", "check", since=since)] == ["d3", "d2"]
    assert store.decided_reviews("wf_b", "check") == []


def test_decided_review_stats_count_and_latest(store: Store) -> None:
    assert store.decided_review_stats("wf_a", "check") == (0, None)
    _decided(store)
    assert store.decided_review_stats("wf_a", "check") == (3, T0 + timedelta(minutes=3))
    assert store.decided_review_stats("wf_a", "other") == (1, T0 + timedelta(minutes=9))


def test_pending_reviews_nobody_holds(store: Store) -> None:
    _queue(store)
    assert _ids(store.list_pending_reviews(assignee="", team="finance")) == ["r5"]  # not r3
    assert store.count_pending_reviews(assignee="") == 6
    assert store.count_pending_reviews_by("team", assignee="") == {
        "managers": 3,
        None: 1,
        "finance": 1,
        "support": 1,
    }


def test_pending_reviews_unassigned_and_older_than(store: Store) -> None:
    _queue(store)
    assert _ids(store.list_pending_reviews(unassigned=True)) == ["r2", "r7", "r4", "r1", "r8", "r5"]
    cutoff = T0 + timedelta(minutes=3)  # r4 (0), r1 (1), r3 (2) are older
    assert _ids(store.list_pending_reviews(created_before=cutoff)) == ["r3", "r4", "r1"]
    assert store.count_pending_reviews(created_before=cutoff, unassigned=True) == 2
    assert _ids(store.list_pending_reviews(created_before=cutoff, limit=1, offset=1)) == ["r4"]


def test_pending_reviews_count_by_each_filter(store: Store) -> None:
    _queue(store)
    assert store.count_pending_reviews_by("team") == {
        "managers": 3,
        "finance": 2,
        "support": 2,
        None: 1,
    }
    assert store.count_pending_reviews_by("node_id", workflow_id="wf_b") == {
        "triage": 3,
        "check": 1,
    }
    assert store.count_pending_reviews_by("priority", teams=["support"]) == {
        "urgent": 1,
        "high": 1,
        "normal": 1,
    }
    assert store.count_pending_reviews_by("assignee") == {None: 6, "mia": 1, "eve": 1}
    assert store.count_pending_reviews_by("assignee", unassigned=True) == {None: 6}
    cutoff = T0 + timedelta(minutes=3)
    assert store.count_pending_reviews_by("workflow_id", created_before=cutoff) == {
        "wf_a": 2,
        "wf_b": 1,
    }
    with pytest.raises(ValueError, match="cannot group reviews by"):
        store.count_pending_reviews_by("status")  # type: ignore[arg-type]
