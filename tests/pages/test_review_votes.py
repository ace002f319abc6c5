"""The Review page on a multi-approver review (examples/quorum-approval.yaml, seeded): the
approvers panel shows the policy, who has voted and what is still needed; a vote leaves the
review open until the quorum closes it; the queue marks "1 of 2"."""

from __future__ import annotations

from tests.pages.test_review_page import _pending, _press, _review, _texts, review_page


def _quorum_review() -> str:
    return next(r["id"] for r in _pending("quorum-approval") if r["node_id"] == "finance_quorum")


def test_voters_panel_votes_and_the_queue_marker(seeded: None) -> None:
    rid = _quorum_review()
    at = review_page("rae", review=rid)
    text = _texts(at.markdown)
    assert "**Approvers**: 2 of team finance" in text
    assert "**Votes**: 0 of 2 approvals" in text
    assert "Still needed: **2 more approvals from team finance**" in text
    assert "Nobody has voted yet." in _texts(at.caption)
    at = _press(at, rid, "Approve")
    assert "You voted approve on review" in _texts(at.success)
    assert "1 more approval from team finance" in _texts(at.success)
    assert _review(rid)["status"] == "pending"

    # Another member sees rae's vote; rae may not vote again.
    fay = review_page("fay", review=rid)
    text = _texts(fay.markdown)
    assert "**Votes**: 1 of 2 approvals" in text and "**rae** approved" in text
    again = _press(review_page("rae", review=rid), rid, "Approve")
    assert "rae already voted approve" in _texts(again.error)

    # The queue marks the review with its count of approvals.
    queue = review_page("fay")
    assert any(
        "1 of 2 approvals" in m.value and "finance_quorum" in m.value for m in queue.markdown
    )

    # The closing vote decides it; the panel stays, without "still needed".
    _press(fay, rid, "Approve")
    done = _review(rid)
    assert (done["status"], done["decided_by"], done["action"]) == ("decided", "fay", "approve")
    closed = review_page("rae", review=rid)
    text = _texts(closed.markdown)
    assert "**Votes**: 2 of 2 approvals" in text and "Still needed" not in text
    assert "**fay** approved" in text


def test_bulk_approve_casts_votes_and_says_so(seeded: None) -> None:
    ids = [r["id"] for r in _pending("quorum-approval") if r["node_id"] == "finance_quorum"]
    at = review_page("rae")
    at.selectbox(key="rv_f_workflow_id").select("quorum-approval").run()
    for rid in ids:
        at.checkbox(key=f"rv_sel_{rid}").check()
    at.run()
    at.button(key="rv_bulk_approve").click().run()
    assert not at.exception, at.exception
    assert f"{len(ids)} review(s) approved" in _texts(at.success)
    assert f"{len(ids)} of them need several approvers" in _texts(at.info)
    assert all(_review(i)["status"] == "pending" for i in ids)  # 1 of 2: still open
    assert sum("1 of 2 approvals" in m.value for m in at.markdown) == len(ids)
