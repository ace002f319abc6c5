"""The Review page through Streamlit's AppTest: the queue and its filters, deciding one
review (approve, reject with a reason, edit-then-approve, escalate, submit, rate), bulk
decisions, races and deep links."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

from builder.review import decide, queue
from builder.shell import resources
from runtime.queries import reviews

ROOT = Path(__file__).resolve().parents[2]


def review_page(user: str = "rae", review: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.session_state["lg_user"] = user
    if review is not None:
        at.query_params["review"] = review
    at.run()
    at.switch_page("pages/review.py").run()
    assert not at.exception, at.exception
    return at


def _store() -> Any:
    return resources.engine().store


def _pending(workflow_id: str) -> list[dict[str, Any]]:
    return reviews.review_queue(_store(), None, workflow_id=workflow_id).items


def _review(review_id: str) -> dict[str, Any]:
    return _store().get_review(review_id)


def _rows(at: AppTest) -> list[str]:
    """The workflow of each queue row shown."""
    return [
        m.value.split("**")[1] for m in at.markdown if m.value.startswith(("🔴", "🟠", "🔵", "⚪"))
    ]


def _press(at: AppTest, review_id: str, label: str) -> AppTest:
    action = {v: k for k, v in decide.LABELS.items()}[label]
    at.button(key=decide.button_key(review_id, action)).click().run()
    assert not at.exception, at.exception
    return at


def _texts(elements: Any) -> str:
    return " | ".join(e.value for e in elements)


def test_the_queue_filters_and_counts(seeded: None) -> None:
    at = review_page()
    total = reviews.count_pending_reviews(_store(), _store().get_user("rae"))
    assert len(_rows(at)) == min(total, queue.PAGE_SIZE)  # the first page
    # the seed's AI routes a few items by its confidence: count finance's from the store
    finance = reviews.review_queue(_store(), _store().get_user("rae"), team="finance")
    assert f"finance {finance.total}" in at.caption[1].value  # the team filter's counts
    at.selectbox(key="rv_f_team").select("finance").run()
    assert set(_rows(at)) == {r["workflow_id"] for r in finance.items}
    assert {"refund-escalation", "budget-routing"} <= set(_rows(at))
    assert len(_rows(at)) == finance.total
    at.selectbox(key="rv_f_priority").select("high").run()
    assert set(_rows(at)) == {"refund-escalation"}
    at.selectbox(key="rv_f_assignee").select("(assigned to me)").run()
    assert _rows(at) == [] and "No pending review matches" in _texts(at.info)
    at.selectbox(key="rv_f_assignee").select("(unassigned)").run()
    at.selectbox(key="rv_f_age").select("older than 1 day").run()
    assert _rows(at) == []
    at.selectbox(key="rv_f_age").select("any age").run()
    assert len(_rows(at)) == 2
    # the deadline column shows the time left
    assert any("left" in m.value for m in at.markdown if m.value.startswith("**Deadline**"))


def test_a_reviewer_sees_only_their_teams_queue(seeded: None) -> None:
    at = review_page("rio")  # team risk: no review waits for it
    assert _rows(at) == []
    assert "your teams: risk" in _texts(at.info)


def test_approve_moves_on_to_the_next_review_and_says_where_the_run_went(seeded: None) -> None:
    first = _pending("account-deletion")[0]["id"]
    at = review_page(review=first)
    assert "Why it stopped" in _texts(at.markdown)
    at.text_area(key=f"rv_d_{first}_note").input("looks fine")
    at.selectbox(key=f"rv_d_{first}_reason").select("legal_hold")  # ignored by approve
    _press(at, first, "Approve")
    decided = _review(first)
    assert decided["status"] == "decided" and decided["action"] == "approve"
    assert decided["reason"] is None and decided["decided_by"] == "rae"
    assert f"Approved review {first}. Run " in _texts(at.success)
    assert at.query_params["review"] and at.query_params["review"][0] != first


def test_reject_needs_a_reason_from_the_nodes_list(seeded: None) -> None:
    rid = _pending("account-deletion")[0]["id"]
    at = review_page(review=rid)
    _press(at, rid, "Reject")
    assert "pick a reason to reject (one of: legal_hold, open_balance, not_verified)" in _texts(
        at.error
    )
    assert _review(rid)["status"] == "pending"
    at.selectbox(key=f"rv_d_{rid}_reason").select("open_balance")
    at.text_area(key=f"rv_d_{rid}_note").input("balance of 40 EUR")
    _press(at, rid, "Reject")
    decided = _review(rid)
    assert (decided["action"], decided["reason"], decided["decision_note"]) == (
        "reject",
        "open_balance",
        "balance of 40 EUR",
    )


def test_edit_then_approve_a_label_is_a_select_of_the_models_labels(seeded: None) -> None:
    rid = _pending("ticket-routing")[0]["id"]
    at = review_page(review=rid)
    label = at.selectbox(key=f"rv_d_{rid}_classify.label")
    assert {"billing_dispute", "technical", "shipping"} <= set(label.options)
    _press(at, rid, "Save edits and approve")
    assert "no field was changed" in _texts(at.error)
    new = "technical" if label.value != "technical" else "account"
    at.selectbox(key=f"rv_d_{rid}_classify.label").select(new)
    _press(at, rid, "Save edits and approve")
    assert _review(rid)["action"] == "edit"
    feedback = _store().list_feedback(workflow_id="ticket-routing")
    assert any(f["review_id"] == rid for f in feedback)


def test_a_number_stays_a_number_and_nan_is_refused(seeded: None) -> None:
    rid = _pending("expense-approval")[0]["id"]
    at = review_page(review=rid)
    for bad in ("NaN", "Infinity", "12 EUR"):
        at.text_input(key=f"rv_d_{rid}_amount").input(bad)
        _press(at, rid, "Save edits and approve")
        assert "amount: " in _texts(at.error) and "nothing was decided" in _texts(at.error).lower()
        assert _review(rid)["status"] == "pending"
    at.text_input(key=f"rv_d_{rid}_amount").input("120")
    _press(at, rid, "Save edits and approve")
    decided = _review(rid)
    assert decided["action"] == "edit" and decided["data"] == {"amount": 120}


def test_escalate_to_an_existing_team_with_a_note(seeded: None) -> None:
    rid = _pending("account-deletion")[0]["id"]
    at = review_page(review=rid)
    team = at.selectbox(key=f"rv_d_{rid}_team")
    assert "risk" in team.options and "security" not in team.options  # its own team left out
    _press(at, rid, "Escalate")
    assert "no team was picked" in _texts(at.error)
    at.selectbox(key=f"rv_d_{rid}_team").select("risk")
    at.text_area(key=f"rv_d_{rid}_note").input("possible fraud")
    _press(at, rid, "Escalate")
    assert _review(rid)["action"] == "escalate"
    moved = reviews.review_queue(_store(), None, team="risk").items
    assert [r["note"] for r in moved] == ["possible fraud"]


def test_feedback_rates_and_a_form_is_submitted(seeded: None) -> None:
    rid = _pending("content-feedback")[0]["id"]
    at = review_page(review=rid)
    _press(at, rid, "Ask for a revision")
    assert "say in the note what to change" in _texts(at.error)
    at.slider(key=f"rv_d_{rid}_rating").set_value(2)
    at.text_area(key=f"rv_d_{rid}_note").input("shorter, please")
    _press(at, rid, "Ask for a revision")
    assert (_review(rid)["action"], _review(rid)["rating"]) == ("revise", 2)

    rid = _pending("order-missing-context")[0]["id"]
    at = review_page(review=rid)
    _press(at, rid, "Submit")
    assert "is required" in _texts(at.error) and _review(rid)["status"] == "pending"
    at.text_area(key=f"rv_d_{rid}_address").input("1 Quay St, Dublin")
    at.selectbox(key=f"rv_d_{rid}_size").select("M")
    _press(at, rid, "Submit")
    decided = _review(rid)
    assert decided["action"] == "submit"
    assert decided["data"] == {"address": "1 Quay St, Dublin", "size": "M", "gift_wrap": False}


def test_someone_else_decided_it_meanwhile(seeded: None) -> None:
    rid = _pending("account-deletion")[0]["id"]
    at = review_page(review=rid)
    resources.engine().decide(rid, {"action": "approve"}, by="ada")
    _press(at, rid, "Approve")
    warning = _texts(at.warning)
    assert f"Review {rid} was already decided by ada at " in warning
    assert "The queue is refreshed" in warning
    assert "review" not in at.query_params  # back on the queue, without it
    assert rid not in [k for k in at.session_state if "rv_sel_" in str(k)]


def test_bulk_approve_the_ticked_ones(seeded: None) -> None:
    ids = [r["id"] for r in _pending("refund-requests")]
    at = review_page()
    at.selectbox(key="rv_f_workflow_id").select("refund-requests").run()
    for rid in ids[1:]:
        at.checkbox(key=f"rv_sel_{rid}").check()
    at.run()
    at.button(key="rv_bulk_reject").click().run()
    assert "Pick a reason" in _texts(at.error)
    assert all(_review(i)["status"] == "pending" for i in ids)
    at.button(key="rv_bulk_approve").click().run()
    assert not at.exception
    assert f"{len(ids) - 1} review(s) approved" in _texts(at.success)
    assert all(_review(i)["decided_by"] == "rae" for i in ids[1:])
    assert _review(ids[0])["status"] == "pending"  # not ticked
    assert len(at.get("progress")) == 1
    at.run()  # the report stays until dismissed
    assert f"{len(ids) - 1} review(s) approved" in _texts(at.success)
    at.button(key="rv_bulk_dismiss").click().run()
    assert not at.success and not at.get("progress")
    assert len(_rows(at)) == len(_pending("refund-requests"))  # some runs went on to a next stop


def test_bulk_reject_reports_each_review_that_cannot_take_it(seeded: None) -> None:
    at = review_page()
    at.selectbox(key="rv_f_team").select("finance").run()
    finance = reviews.review_queue(_store(), None, team="finance").items
    takes = [r["id"] for r in finance if "fraud_suspected" in r["reason_codes"]]
    assert 0 < len(takes) < len(finance)
    at.radio(key="rv_bulk_scope").set_value("matching")
    at.selectbox(key="rv_bulk_reason").select("fraud_suspected")  # only refund-escalation's
    at.button(key="rv_bulk_reject").click().run()
    assert f"{len(takes)} review(s) rejected" in _texts(at.success)
    assert "review(s) were not rejected; the others went through" in _texts(at.warning)
    why = at.dataframe[-1].value.to_dict("records")
    # other checkpoints' codes refuse the reason; a choice cannot be rejected at all
    assert all(
        ("fraud_suspected" in r["why"] and "not one of" in r["why"]) or "cannot take" in r["why"]
        for r in why
    )
    assert len(why) == len(finance) - len(takes)
    assert all(_review(r["review"])["status"] == "pending" for r in why)


def test_bulk_reject_everything_matching_the_filter_with_one_reason(seeded: None) -> None:
    ids = [r["id"] for r in _pending("account-deletion")]
    at = review_page()
    at.selectbox(key="rv_f_workflow_id").select("account-deletion").run()
    at.radio(key="rv_bulk_scope").set_value("matching")
    at.selectbox(key="rv_bulk_reason").select("not_verified")
    at.button(key="rv_bulk_reject").click().run()
    assert [(_review(i)["action"], _review(i)["reason"]) for i in ids] == [
        ("reject", "not_verified")
    ] * len(ids)


def test_deep_links_to_a_missing_or_another_teams_review(seeded: None) -> None:
    at = review_page(review="rev_doesnotexist")
    assert "Review rev_doesnotexist does not exist or is not one you may see" in _texts(at.error)
    finance = _pending("refund-escalation")[0]["id"]
    at = review_page("rio", review=finance)
    assert f"Review {finance} does not exist or is not one you may see" in _texts(at.error)
    assert not [b for b in at.button if "_do_" in str(b.key)]
    at = review_page(review="x" * 500)
    assert "is not a review id" in _texts(at.error)
    assert "review" not in at.query_params


def test_a_decided_review_says_who_decided_it(seeded: None) -> None:
    rid = _pending("account-deletion")[0]["id"]
    resources.engine().decide(rid, {"action": "approve"}, by="ada")
    at = review_page(review=rid)
    assert "decided by ada" in _texts(at.warning)
    assert not [b for b in at.button if "_do_" in str(b.key)]


def test_an_admin_sees_every_team(seeded: None) -> None:
    at = review_page("ada")
    total = reviews.count_pending_reviews(_store(), None)
    assert len(_rows(at)) == min(total, queue.PAGE_SIZE)  # the first page
    assert f"of {total}" in _texts(at.caption) or f"{total} review(s)" in _texts(at.caption)
