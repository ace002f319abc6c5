"""The Review page's "Out of office" box and what delegation and SLAs look like in the
queue (Streamlit AppTest on the seeded demo)."""

from __future__ import annotations

from datetime import timedelta

from builder.shell import resources
from tests.pages.test_review_page import _texts, review_page


def test_set_a_delegate_see_the_delegated_review_then_end_it(seeded: None) -> None:
    engine = resources.engine()
    at = review_page("rae")
    # rae is in seven teams: only the admin may take all of her reviews
    assert at.selectbox(key="rv_away_to").options == ["ada"]
    at.text_input(key="rv_away_note").input("holiday")
    at.button(key="FormSubmitter:rv_away-Set delegation").click().run()
    assert not at.exception, at.exception
    row = engine.delegations.get("rae")
    assert (row["delegate"], row["note"]) == ("ada", "holiday")
    assert row["ends_at"] - row["starts_at"] > timedelta(days=7)
    assert "Your reviews go to **ada**" in _texts(at.markdown)

    res = engine.start(
        engine.workflow("escalation-chain"),
        {"requester": "Lu", "amount": 90, "item": "a chair"},
        by="ops",
    )
    review = engine.store.get_review(res.review_id)
    assert (review["assignee"], review["delegated_from"]) == ("ada", "rae")
    admin = review_page("ada")
    admin.selectbox(key="rv_f_workflow_id").select("escalation-chain").run()  # page 1 of it
    shown = _texts(admin.markdown)
    assert "for rae, delegated to you" in shown
    assert "**SLA**  \n7h 59m left" in shown or "**SLA**  \n8h left" in shown

    at.button(key="rv_away_clear").click().run()
    assert not at.exception, at.exception
    assert engine.delegations.get("rae") is None


def test_an_overdue_review_is_marked_in_the_queue(seeded: None) -> None:
    engine = resources.engine()
    clock = engine.clock
    later = clock() + timedelta(hours=9)
    engine.clock = lambda: later
    try:
        at = review_page("rae")
        assert ":red[**:material/alarm: overdue by 1h" in _texts(at.markdown)
    finally:
        engine.clock = clock
