"""runtime.queries.precedent: the most similar past decided reviews of the same checkpoint."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.auth import add_user
from runtime.engine import Engine
from runtime.errors import NotFoundError
from runtime.queries import precedent
from runtime.queries.precedent import Precedent, item_text, similar_decisions
from runtime.spec import parse_spec

PAST = [
    ("the parcel arrived broken, the screen is cracked, refund please", "approve", None),
    ("I was charged twice for my subscription this month", "reject", "duplicate"),
    ("cannot log in to my account after the password reset", "approve", None),
    ("the delivery is three weeks late and tracking shows nothing", "reject", "spam"),
    ("please change the billing address on my invoice", "approve", None),
]


def workflow(wf_id: str, team: str | None = "support") -> Any:
    """One approval ``check`` of ``team`` with reject reasons, and an editable message."""
    return parse_spec(
        {
            "id": wf_id,
            "name": wf_id,
            "input": {"message": {"type": "string", "required": True}},
            "nodes": [
                {"id": "start", "type": "trigger"},
                {
                    "id": "check",
                    "type": "approval",
                    "params": {
                        "team": team,
                        "reason_codes": ["duplicate", "spam"],
                        "editable": ["message"],
                    },
                },
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
def decided(engine: Engine) -> Engine:
    """Five decided reviews of wf-support/check (decided by mia, of team support)."""
    add_user(engine.store, "sue", roles=["reviewer"], teams=["support"])
    add_user(engine.store, "rio", roles=["reviewer"], teams=["risk"])
    engine.forget_users()
    wf = engine.save_workflow(workflow("wf-support"))
    for text, action, reason in PAST:
        res = engine.start(wf, {"message": text})
        engine.decide(
            res.review_id, {"action": action, "reason": reason, "note": text[:12]}, by="sue"
        )
    return engine


def _pending(engine: Engine, text: str, wf_id: str = "wf-support") -> str:
    return engine.start(engine.workflow(wf_id), {"message": text}).review_id


def test_the_obviously_most_similar_comes_first(decided: Engine):
    rid = _pending(decided, "my parcel arrived broken and the screen is cracked")
    found = similar_decisions(decided.store, None, rid, k=3)
    assert found and isinstance(found[0], Precedent)
    top = found[0]
    assert top.item == {"message": PAST[0][0]}
    assert (top.action, top.decided_by, top.node_id) == ("approve", "sue", "check")
    assert 0 < top.similarity <= 1
    assert [p.similarity for p in found] == sorted((p.similarity for p in found), reverse=True)
    assert len(found) <= 3

    rid = _pending(decided, "charged twice for the subscription")
    top = similar_decisions(decided.store, None, rid)[0]
    assert (top.item["message"], top.action, top.reason) == (PAST[1][0], "reject", "duplicate")
    assert top.note == PAST[1][0][:12]


def test_an_edit_carries_its_edits_and_the_review_itself_is_left_out(decided: Engine):
    rid = _pending(decided, "refund for a cracked screen")
    decided.decide(rid, {"action": "edit", "data": {"message": "refund: cracked screen"}}, by="sue")
    again = _pending(decided, "refund for a cracked screen")
    found = similar_decisions(decided.store, None, again, k=5)
    edit = next(p for p in found if p.review_id == rid)
    assert edit.edits == {"message": "refund: cracked screen"} and edit.action == "edit"
    assert all(p.review_id != again for p in found)
    # A decided review asks for its own precedent: it is not its own precedent.
    assert all(p.review_id != rid for p in similar_decisions(decided.store, None, rid))


def test_nothing_in_common_gives_nothing(decided: Engine):
    rid = _pending(decided, "zebra xylophone quokka")
    assert similar_decisions(decided.store, None, rid) == []


def test_only_the_same_checkpoint_counts(decided: Engine):
    other = decided.save_workflow(workflow("wf-other"))
    rid = decided.start(other, {"message": "the parcel arrived broken"}).review_id
    assert similar_decisions(decided.store, None, rid) == []


def test_new_decisions_are_picked_up(decided: Engine):
    rid = _pending(decided, "the blender smells of smoke")
    assert similar_decisions(decided.store, None, rid) == []
    first = _pending(decided, "blender smoke smell")
    decided.decide(first, {"action": "reject", "reason": "spam"}, by="sue")
    found = similar_decisions(decided.store, None, rid)
    assert [p.review_id for p in found] == [first]
    # Many more at once: the index refits and still finds the best.
    wf = decided.workflow("wf-support")
    for i in range(10):
        r = decided.start(wf, {"message": f"kettle number {i + 10} leaks water"}).review_id
        decided.decide(r, {"action": "approve"}, by="sue")
    assert similar_decisions(decided.store, None, rid)[0].review_id == first
    kettle = _pending(decided, "kettle number 17 leaks water")
    assert similar_decisions(decided.store, None, kettle)[0].item["message"] == (
        "kettle number 17 leaks water"
    )


def test_access_like_get_review(decided: Engine):
    rid = _pending(decided, "the parcel arrived broken")
    rio = decided.user("rio")
    with pytest.raises(NotFoundError, match=f"review {rid} does not exist"):
        similar_decisions(decided.store, rio, rid)
    with pytest.raises(NotFoundError):
        similar_decisions(decided.store, None, "rv_nope")
    assert similar_decisions(decided.store, decided.user("sue"), rid)


def test_precedents_of_a_team_the_user_does_not_see_are_left_out(decided: Engine):
    # An escalation moves a review of the same checkpoint to team risk; decided there,
    # it is a precedent for risk and admins, not for support.
    wf = decided.workflow("wf-support")
    esc = decided.start(wf, {"message": "suspicious parcel refund broken screen"}).review_id
    res = decided.decide(esc, {"action": "escalate", "team": "risk"}, by="sue")
    decided.decide(res.review_id, {"action": "reject", "reason": "spam"}, by="rio")
    rid = _pending(decided, "suspicious parcel refund")
    sue = [p.review_id for p in similar_decisions(decided.store, decided.user("sue"), rid)]
    admin = [p.review_id for p in similar_decisions(decided.store, decided.user("admin"), rid)]
    assert res.review_id in admin and res.review_id not in sue
    assert esc in sue  # the escalation itself was a decision of support


def test_bad_k(decided: Engine):
    rid = _pending(decided, "anything")
    with pytest.raises(ValueError, match="k must be between 1 and 50"):
        similar_decisions(decided.store, None, rid, k=0)


def test_the_corpus_is_bounded(decided: Engine, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(precedent, "MAX_CORPUS", 2)
    precedent._CACHE.clear()
    rid = _pending(decided, "the parcel arrived broken and the delivery was late")
    found = similar_decisions(decided.store, None, rid)
    # Only the two newest decisions are searched: the broken parcel (the oldest) is not.
    assert [p.item["message"] for p in found] == [PAST[3][0]]


def test_item_text_walks_nested_values():
    assert item_text({"a": "x y", "b": {"c": 2, "d": [True, None]}}) == "x y 2 True"
    assert len(item_text({"t": "w " * 10_000})) == 4_000
