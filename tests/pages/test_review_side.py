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
