"""The Review page's two views: the inbox (filters, bulk bar, rows, pager) and one review
(what to know, the decision, then on to the next review)."""

from __future__ import annotations

import streamlit as st

from builder.review import away, bulk, decide, detail, queue, state
from runtime.access import User


def inbox(user: User) -> None:
    """The queue view.

    Args:
        user: the signed-in reviewer or admin.
    """
    away.sidebar(user)
    q = queue.load(user)
    queue.filters(q, user)
    if bulk.bar(user, q):
        q = queue.load(user)
    bulk.show_report()
    queue.rows(q, user)
    queue.pager(q)


def one_review(user: User, review_id: str) -> None:
    """One review and its decision; after deciding, the next review of the filtered queue
    opens (or the queue, when none is left).

    Args:
        user: the signed-in reviewer or admin.
        review_id: the review in the deep link.
    """
    if st.button("← Back to the queue", key="rv_back"):
        state.close_review()
        st.rerun()
    review, problem = detail.load(user, review_id)
    if review is None:
        st.error(problem)
        return
    if review["status"] != "pending" and decide.pressed(review):
        _after(user, decide.too_late(review))  # decided by someone else since it was shown
    detail.header(review)
    left, right = st.columns([3, 2], gap="large")
    with right:
        detail.side_column(user, review)
        detail.history(user, review)
    with left:
        detail.why_stopped(review)
        detail.item_and_context(review)
        if review["status"] != "pending":
            return
        outcome = decide.panel(user, review)
    if outcome is not None:
        _after(user, outcome)


def _after(user: User, outcome: decide.Outcome) -> None:
    """After a decision: on to the next review; after a race, back to the refreshed queue;
    after a refusal, the message in place."""
    review_id = state.open_id()
    if outcome.ok:
        state.flash("success", outcome.text)
        following = queue.next_review(user, skip=review_id)
        if following:
            state.open_review(following)
        else:
            state.close_review()
            state.flash("info", "That was the last review matching your filters.")
        st.rerun()
    if outcome.race:
        state.flash("warning", outcome.text + " The queue is refreshed.")
        state.close_review()
        st.rerun()
    st.error(outcome.text)
