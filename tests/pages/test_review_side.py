"""Beside one review on the Review page: claim and release, and the precedent panel."""

from __future__ import annotations

from runtime.nodes import Decision
from tests.pages.test_review_page import _pending, _review, _store, review_page


def test_claim_release_and_what_others_see(seeded: None) -> None:
    rid = _pending("expense-approval")[0]["id"]
    at = review_page("rae", review=rid)
    at.button(key=f"rv_claim_{rid}").click().run()
    assert not at.exception, at.exception
    assert _review(rid)["assignee"] == "rae"
    assert at.button(key=f"rv_claim_{rid}").label == "Release"
    # an admin sees who holds it and may take it over; the trail says who did what
    admin = review_page("ada", review=rid)
    assert admin.button(key=f"rv_claim_{rid}").label == "Take over from rae"
    at.button(key=f"rv_claim_{rid}").click().run()
    assert _review(rid)["assignee"] is None
    kinds = [e["kind"] for e in _store().audit_events(review_id=rid)]
    assert kinds.count("review.claimed") == 1 and kinds.count("review.released") == 1


def test_precedent_shows_similar_decided_reviews(seeded: None) -> None:
    from builder.shell import resources

    engine = resources.engine()
    wf = engine.workflow("expense-approval")
    item = {"employee": "kim", "amount": 300, "category": "travel", "note": "train to Lyon"}
    first, second = (engine.start(wf, dict(item), by="ops") for _ in range(2))
    engine.decide(first.review_id, Decision(action="approve", note="fair fare"), by="rae")
    at = review_page("rae", review=second.review_id)
    assert not at.exception, at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "**Precedent**" in text
    assert "**approved** · 100% alike" in text and "rae, " in text
    assert any("fair fare" in c.value for c in at.caption)


def test_a_choice_review_has_one_button_per_option(seeded: None) -> None:
    from builder.review import decide

    rid = _pending("budget-routing")[0]["id"]
    at = review_page("rae", review=rid)
    labels = [b.label for b in at.button if b.key and b.key.startswith(f"rv_d_{rid}_do_choose_")]
    assert labels == ["marketing", "research", "infrastructure"]
    at.text_input(key=f"rv_d_{rid}_budget_code").input("MK-7")
    at.button(key=decide.option_key(rid, "marketing")).click().run()
    assert not at.exception, at.exception
    done = _review(rid)
    assert (done["status"], done["action"], done["decided_by"]) == ("decided", "choose", "rae")
    assert any(f"Picked marketing for review {rid}" in s.value for s in at.success)
    run = resources_run(done["run_id"])
    assert run["outputs"]["route"]["choice"] == "marketing"
    assert run["outputs"]["route"]["data"] == {"budget_code": "MK-7"}


def resources_run(run_id: str) -> dict:
    from builder.shell import resources

    return resources.engine().get_run(run_id).model_dump()
