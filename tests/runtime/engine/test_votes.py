"""Multi-approver reviews in the engine: each vote recorded and audited, the closing vote
settles the review exactly once, a repeat vote is refused, reject_ends both ways, a
sequence in order, bulk decisions, and the audit chain verifies."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from runtime.auth import add_user
from runtime.engine import Engine
from runtime.errors import AccessError, DecisionError, ReviewNotPendingError, VoteError
from runtime.services import default_services
from runtime.spec import WorkflowSpec
from runtime.store import Store

PEOPLE = {"ann": "finance", "bob": "finance", "cy": "finance", "mia": "managers"}


def _spec(approvers: dict[str, Any], wf_id: str = "buy", **params: Any) -> WorkflowSpec:
    return WorkflowSpec.model_validate(
        {
            "id": wf_id,
            "name": wf_id,
            "input": {"amount": {"type": "number", "required": True}},
            "nodes": [
                {"id": "start", "type": "trigger"},
                {
                    "id": "ok",
                    "type": "approval",
                    "params": {"reason_codes": ["no_budget"], "approvers": approvers, **params},
                },
                {"id": "yes", "type": "end", "params": {"result": "approved"}},
                {"id": "no", "type": "end", "params": {"result": "rejected"}},
            ],
            "edges": [
                {"from": "start", "to": "ok"},
                {"from": "ok", "to": "yes", "branch": "approved"},
                {"from": "ok", "to": "no", "branch": "rejected"},
            ],
        }
    )


QUORUM = {"mode": "quorum", "count": 2, "of": ["ann", "bob", "cy"]}
REJECT = {"action": "reject", "reason": "no_budget"}


@pytest.fixture
def eng(store: Store) -> Engine:
    for name, team in PEOPLE.items():
        add_user(store, name, roles=["reviewer"], teams=[team])
    add_user(store, "ops", roles=["operator", "reviewer"], teams=["finance"])
    return Engine(store, services=default_services(store))


def _review(eng: Engine, approvers: dict[str, Any], **kw: Any) -> str:
    res = eng.start(_spec(approvers, **kw), {"amount": 10}, by="ops")
    assert res.status == "waiting"
    return res.review_id


def _count(store: Store, kind: str, review_id: str) -> int:
    return store.execute_readonly(
        "SELECT count(*) AS n FROM audit_events WHERE kind = ? AND review_id = ?",
        [kind, review_id],
    )[0]["n"]


def test_two_of_three_in_threads_the_closing_vote_wins_exactly_once(eng: Engine) -> None:
    for _ in range(3):
        rid = _review(eng, QUORUM)
        gate = threading.Barrier(3)
        results: dict[str, Any] = {}

        def vote(who: str, rid: str = rid, gate: threading.Barrier = gate) -> None:
            gate.wait()
            try:
                results[who] = eng.decide(rid, {"action": "approve"}, by=who)
            except ReviewNotPendingError as exc:
                results[who] = exc

        threads = [threading.Thread(target=vote, args=(w,)) for w in ("ann", "bob", "cy")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        outcomes = sorted(
            "refused" if isinstance(r, Exception) else r.status for r in results.values()
        )
        assert outcomes == ["refused", "succeeded", "waiting"]
        refused = next(r for r in results.values() if isinstance(r, Exception))
        closer = next(w for w, r in results.items() if getattr(r, "status", "") == "succeeded")
        assert f"already decided by {closer} at" in str(refused)
        assert len(eng.store.review_votes([rid])[rid]) == 2
        assert _count(eng.store, "review.voted", rid) == 2
        assert _count(eng.store, "review.decided", rid) == 1
        review = eng.store.get_review(rid)
        assert (review["status"], review["decided_by"], review["action"]) == (
            "decided",
            closer,
            "approve",
        )
    ok, _, message = eng.store.verify_audit_chain()
    assert ok, message


def test_the_same_person_cannot_vote_twice_and_is_told_when(eng: Engine) -> None:
    rid = _review(eng, QUORUM)
    first = eng.decide(rid, {"action": "approve", "note": "fine by me"}, by="ann")
    assert first.status == "waiting"
    assert first.votes == "vote recorded (1 of 2 approvals); 1 more approval from ann, bob, cy"
    with pytest.raises(VoteError, match=r"ann already voted approve on review .* at 20\d\d-"):
        eng.decide(rid, REJECT, by="ann")
    assert eng.store.get_review(rid)["status"] == "pending"
    vote = eng.store.review_votes([rid])[rid]
    assert [(v["voter"], v["action"], v["note"]) for v in vote] == [
        ("ann", "approve", "fine by me")
    ]


def test_only_the_listed_people_vote_and_separation_of_duties_holds(eng: Engine) -> None:
    rid = _review(eng, {"mode": "quorum", "count": 1, "of": ["ann", "ops"]})
    with pytest.raises(
        VoteError, match=r"mia may not vote .* waits for 1 more approval from ann, ops"
    ):
        eng.decide(rid, {"action": "approve"}, by="mia")
    with pytest.raises(AccessError, match="ops started run"):
        eng.decide(rid, {"action": "approve"}, by="ops")  # listed, but started the run
    with pytest.raises(DecisionError, match="edit is not a vote"):
        eng.decide(rid, {"action": "edit", "data": {"amount": 1}}, by="ann")
    with pytest.raises(DecisionError, match="reject needs --reason"):
        eng.decide(rid, {"action": "reject"}, by="ann")  # a vote must fit the checkpoint
    assert eng.store.review_votes([rid]) == {}
    assert eng.decide(rid, {"action": "approve"}, by="ann").result == "approved"


def test_reject_ends_true_one_rejection_ends_it(eng: Engine) -> None:
    rid = _review(eng, {**QUORUM, "reject_ends": True})
    eng.decide(rid, {"action": "approve"}, by="ann")
    done = eng.decide(rid, REJECT, by="bob")
    assert done.status == "succeeded" and done.result == "rejected"
    with pytest.raises(ReviewNotPendingError, match="already decided by bob"):
        eng.decide(rid, {"action": "approve"}, by="cy")


def test_reject_ends_false_rejects_once_the_quorum_is_out_of_reach(eng: Engine) -> None:
    rid = _review(eng, {**QUORUM, "reject_ends": False})
    assert eng.decide(rid, REJECT, by="ann").status == "waiting"
    assert eng.decide(rid, {"action": "approve"}, by="bob").status == "waiting"
    assert eng.decide(rid, {"action": "approve"}, by="cy").result == "approved"
    rid = _review(eng, {**QUORUM, "reject_ends": False})
    eng.decide(rid, REJECT, by="ann")
    assert eng.decide(rid, REJECT, by="bob").result == "rejected"


def test_all_of_a_team_needs_every_member(eng: Engine, store: Store) -> None:
    rid = _review(eng, {"mode": "all", "team": "finance"})
    assert store.get_review(rid)["team"] == "finance"  # the approvers' team gets it
    votes = [eng.decide(rid, {"action": "approve"}, by=w) for w in ("ann", "bob", "cy")]
    assert [v.status for v in votes] == ["waiting", "waiting", "waiting"]
    assert votes[-1].votes.endswith("1 more approval from team finance")
    # ops is in finance too but started the run: the review cannot close without them.
    with pytest.raises(AccessError, match="ops started run"):
        eng.decide(rid, {"action": "approve"}, by="ops")


def test_a_sequence_goes_step_by_step_and_moves_the_review(eng: Engine, store: Store) -> None:
    seq = {
        "mode": "sequence",
        "steps": [{"team": "managers", "name": "the manager"}, {"of": ["ann", "bob"], "count": 2}],
    }
    rid = _review(eng, seq)
    assert store.get_review(rid)["team"] == "managers"
    with pytest.raises(
        VoteError, match=r"ann may not vote .* waits for 1 more approval from the manager"
    ):
        eng.decide(rid, {"action": "approve"}, by="ann")
    moved = eng.decide(rid, {"action": "approve"}, by="mia")
    assert moved.status == "waiting"
    assert moved.votes == "vote recorded (1 of 3 approvals); 2 more approvals from ann, bob"
    assigned = store.execute_readonly(
        "SELECT actor, data FROM audit_events WHERE kind = 'review.assigned' AND review_id = ?",
        [rid],
    )
    assert len(assigned) == 1 and assigned[0]["actor"] == "system"
    with pytest.raises(VoteError, match="cy may not vote"):
        eng.decide(rid, {"action": "approve"}, by="cy")
    assert eng.decide(rid, {"action": "approve"}, by="bob").status == "waiting"
    assert eng.decide(rid, {"action": "approve"}, by="ann").result == "approved"
    steps = [v["step"] for v in store.review_votes([rid])[rid]]
    assert steps == [0, 1, 1]
    assert store.verify_audit_chain()[0]


def test_bulk_and_recorded_decisions_cast_votes(eng: Engine, store: Store) -> None:
    quorum = [_review(eng, QUORUM) for _ in range(2)]
    plain = eng.start(_spec({"mode": "first"}, wf_id="plain"), {"amount": 1}, by="ops").review_id
    out = eng.decide_many([quorum[0], plain, quorum[1], quorum[0]], {"action": "approve"}, by="ann")
    assert [getattr(r, "status", None) for r in out[:3]] == ["waiting", "succeeded", "waiting"]
    assert out[3].index == 3 and "listed twice" in out[3].error
    again = eng.decide_many(quorum, {"action": "approve"}, by="ann")
    assert all("already voted" in r.error for r in again)
    receipt = eng.record_decision(quorum[0], {"action": "approve"}, by="bob")
    assert receipt.decided_by == "bob"
    assert store.get_review(quorum[0])["status"] == "decided"
    assert store.get_review(quorum[1])["status"] == "pending"


def test_the_api_casts_votes_and_shows_them(eng: Engine) -> None:
    from fastapi.testclient import TestClient

    from runtime.api import create_api
    from runtime.auth import issue_token

    rid = _review(eng, QUORUM)
    tokens = {n: issue_token(eng.store, n) for n in ("ann", "bob", "mia")}
    client = TestClient(create_api(lambda: eng, lambda: None))

    def call(method: str, path: str, who: str, **kw: Any) -> Any:
        return client.request(
            method, path, headers={"Authorization": f"Bearer {tokens[who]}"}, **kw
        )

    first = call("POST", f"/reviews/{rid}/decision", "ann", json={"action": "approve"})
    assert first.status_code == 200 and first.json()["status"] == "waiting"
    assert "1 more approval" in first.json()["votes"]
    again = call("POST", f"/reviews/{rid}/decision", "ann", json={"action": "approve"})
    assert again.status_code == 409 and "ann already voted approve" in again.json()["error"]
    not_listed = call("POST", f"/reviews/{rid}/decision", "mia", json={"action": "approve"})
    assert not_listed.status_code == 409 and "mia may not vote" in not_listed.json()["error"]
    shown = call("GET", f"/reviews/{rid}/votes", "bob").json()
    assert shown["badge"] == "1 of 2" and shown["remaining"] == "1 more approval from ann, bob, cy"
    assert [(v["voter"], v["action"]) for v in shown["votes"]] == [("ann", "approve")]
    closed = call("POST", f"/reviews/{rid}/decision", "bob", json={"action": "approve"})
    assert closed.json()["result"] == "approved"
    plain = eng.start(_spec({"mode": "first"}, wf_id="plain"), {"amount": 1}, by="ops")
    assert call("GET", f"/reviews/{plain.review_id}/votes", "ann").json()["policy"] is None
    assert call("GET", "/reviews/rev_nope/votes", "ann").status_code == 404
