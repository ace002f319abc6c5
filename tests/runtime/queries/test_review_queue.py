"""runtime.queries.reviews: the review queue's filters, paging, counts and who sees what."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from runtime.auth import add_user
from runtime.engine import Engine
from runtime.errors import NotFoundError
from runtime.queries import reviews
from runtime.spec import parse_spec


def review_workflow(wf_id: str, **params: Any) -> Any:
    """A workflow whose one approval node ``check`` has ``params`` (team, priority, ...)."""
    return parse_spec(
        {
            "id": wf_id,
            "name": wf_id,
            "input": {"n": {"type": "number", "required": True}},
            "nodes": [
                {"id": "start", "type": "trigger"},
                {"id": "check", "type": "approval", "params": params},
                {"id": "done", "type": "end", "params": {"result": "approved"}},
                {"id": "no", "type": "end", "params": {"result": "rejected"}},
            ],
            "edges": [
                {"from": "start", "to": "check"},
                {"from": "check", "to": "done", "branch": "approved"},
                {"from": "check", "to": "no", "branch": "rejected"},
            ],
        }
    )


@pytest.fixture
def queue(engine: Engine) -> Engine:
    """Pending reviews: 3 of team alpha (normal), 2 of beta (urgent, one of them assigned to
    rae), 1 with no team; dev started one of the beta runs."""
    store = engine.store
    add_user(store, "rae", roles=["reviewer"], teams=["alpha"])
    add_user(store, "dev", roles=["designer"], teams=[])
    add_user(store, "aud", roles=["auditor"], teams=[])
    engine.forget_users()
    alpha = engine.save_workflow(review_workflow("wf-alpha", team="alpha"))
    beta = engine.save_workflow(review_workflow("wf-beta", team="beta", priority="urgent"))
    mine = engine.save_workflow(
        review_workflow("wf-mine", team="beta", priority="urgent", assignee="rae")
    )
    open_ = engine.save_workflow(review_workflow("wf-open"))
    engine.start_many(alpha, [{"n": i} for i in range(3)])
    engine.start(beta, {"n": 1}, by="dev")
    engine.start(mine, {"n": 2})
    engine.start(open_, {"n": 3})
    return engine


def user(engine: Engine, name: str) -> dict[str, Any]:
    record = engine.store.get_user(name)
    assert record is not None
    return record


def ids(rows: list[dict[str, Any]]) -> list[str]:
    return [r["workflow_id"] for r in rows]


def test_the_local_caller_and_admins_see_every_pending_review(queue: Engine) -> None:
    everything = reviews.pending_reviews(queue.store, None)
    assert len(everything) == 6
    assert ids(everything)[:2] == ["wf-beta", "wf-mine"]  # urgent first, then oldest
    for who in ("admin", "aud"):
        assert reviews.pending_reviews(queue.store, user(queue, who)) == everything
    assert reviews.count_pending_reviews(queue.store, None) == 6
    assert reviews.count_pending_reviews(queue.store, user(queue, "aud")) == 6


def test_a_reviewer_sees_their_teams_reviews_those_with_no_team_and_those_assigned_to_them(
    queue: Engine,
) -> None:
    rae = user(queue, "rae")
    assert sorted(ids(reviews.pending_reviews(queue.store, rae))) == [
        "wf-alpha",
        "wf-alpha",
        "wf-alpha",
        "wf-mine",  # team beta, which rae is not in, but assigned to rae
        "wf-open",
    ]
    assert ids(reviews.pending_reviews(queue.store, rae, team="beta")) == ["wf-mine"]
    assert reviews.count_pending_reviews(queue.store, rae) == 5

    dev = user(queue, "dev")
    assert ids(reviews.pending_reviews(queue.store, dev)) == ["wf-open"]


def test_filters_by_team_workflow_node_priority_and_assignee(queue: Engine) -> None:
    store = queue.store
    assert ids(reviews.pending_reviews(store, None, team="alpha")) == ["wf-alpha"] * 3
    assert ids(reviews.pending_reviews(store, None, workflow_id="wf-open")) == ["wf-open"]
    assert len(reviews.pending_reviews(store, None, node_id="check")) == 6
    assert reviews.pending_reviews(store, None, node_id="start") == []
    assert ids(reviews.pending_reviews(store, None, priority="urgent")) == ["wf-beta", "wf-mine"]
    assert ids(reviews.pending_reviews(store, None, assignee="rae")) == ["wf-mine"]


def test_pages_with_limit_and_offset(queue: Engine) -> None:
    store = queue.store
    everything = [r["id"] for r in reviews.pending_reviews(store, None)]
    pages = [
        [r["id"] for r in reviews.pending_reviews(store, None, limit=4, offset=offset)]
        for offset in (0, 4, 8)
    ]
    assert pages == [everything[:4], everything[4:], []]


def test_the_queue_has_its_total_and_counts_per_team_and_workflow(queue: Engine) -> None:
    page = reviews.review_queue(queue.store, None, limit=2, offset=1)
    assert (page.total, page.limit, page.offset, len(page.items)) == (6, 2, 1, 2)
    assert page.by_team == {"": 1, "alpha": 3, "beta": 2}
    assert page.by_workflow == {"wf-alpha": 3, "wf-beta": 1, "wf-mine": 1, "wf-open": 1}
    assert all("context" in r for r in page.items)


def test_each_count_applies_every_filter_but_its_own(queue: Engine) -> None:
    page = reviews.review_queue(queue.store, None, team="beta", priority="urgent")
    assert page.total == 2 and ids(page.items) == ["wf-beta", "wf-mine"]
    assert page.by_team == {"beta": 2}  # the team filter is left out: urgent ones per team
    assert page.by_workflow == {"wf-beta": 1, "wf-mine": 1}
    page = reviews.review_queue(queue.store, None, workflow_id="wf-alpha")
    assert page.total == 3
    assert page.by_team == {"alpha": 3}
    assert page.by_workflow == {"wf-alpha": 3, "wf-beta": 1, "wf-mine": 1, "wf-open": 1}


def test_the_queue_counts_only_what_the_user_sees(queue: Engine) -> None:
    page = reviews.review_queue(queue.store, user(queue, "rae"))
    assert page.total == 5 and len(page.items) == 5  # not wf-beta: beta, not assigned to rae
    assert page.by_team == {"": 1, "alpha": 3, "beta": 1}
    assert page.by_workflow == {"wf-alpha": 3, "wf-mine": 1, "wf-open": 1}


def test_a_review_being_decided_leaves_the_list_and_the_counts(queue: Engine) -> None:
    first = reviews.pending_reviews(queue.store, None, workflow_id="wf-open")[0]
    # Held while the journal applies it, then decided: gone from the queue either way.
    queue.record_decision(first["id"], {"action": "approve"}, by="admin")
    page = reviews.review_queue(queue.store, None)
    assert page.total == 5 and "wf-open" not in page.by_workflow
    assert first["id"] not in {r["id"] for r in page.items}
    assert reviews.count_pending_reviews(queue.store, None) == 5
    assert queue.flush(timeout=30)


def test_get_review_hides_reviews_the_user_may_not_see(queue: Engine) -> None:
    store = queue.store
    by_wf = {r["workflow_id"]: r["id"] for r in reviews.pending_reviews(store, None)}
    rae, dev = user(queue, "rae"), user(queue, "dev")
    assert reviews.get_review(store, rae, by_wf["wf-alpha"])["team"] == "alpha"
    assert reviews.get_review(store, rae, by_wf["wf-mine"])["assignee"] == "rae"
    assert reviews.get_review(store, dev, by_wf["wf-beta"])["id"] == by_wf["wf-beta"]
    assert reviews.get_review(store, user(queue, "aud"), by_wf["wf-beta"])
    with pytest.raises(NotFoundError) as hidden:
        reviews.get_review(store, rae, by_wf["wf-beta"])
    with pytest.raises(NotFoundError) as missing:
        reviews.get_review(store, rae, "rev_missing")
    assert str(hidden.value) == str(missing.value).replace("rev_missing", by_wf["wf-beta"])


def test_counts_per_node_priority_and_assignee_unassigned_and_age(queue: Engine) -> None:
    page = reviews.review_queue(queue.store, None)
    assert page.by_node == {"check": 6}
    assert page.by_priority == {"normal": 4, "urgent": 2}
    assert page.by_assignee == {"": 5, "rae": 1}
    page = reviews.review_queue(queue.store, None, unassigned=True)
    assert page.total == 5 and "wf-mine" not in ids(page.items)
    assert page.by_assignee == {"": 5, "rae": 1}  # its own filter left out
    assert page.by_priority == {"normal": 4, "urgent": 1}
    later = queue.clock() + timedelta(hours=2)
    assert reviews.review_queue(queue.store, None, older_than=timedelta(hours=1)).total == 0
    page = reviews.review_queue(queue.store, None, older_than=timedelta(hours=1), now=later)
    assert page.total == 6
    assert reviews.review_queue(queue.store, None, limit=10**9, offset=-5).limit == reviews.MAX_PAGE


def test_escalation_teams_are_those_an_enabled_reviewer_is_in(queue: Engine) -> None:
    before = reviews.escalation_teams(queue.store)
    assert "alpha" in before and before == sorted(before)
    add_user(queue.store, "ria", roles=["reviewer"], teams=["risk", "alpha"])
    add_user(queue.store, "des", roles=["designer"], teams=["design"])
    assert reviews.escalation_teams(queue.store) == sorted([*before, "risk"])
