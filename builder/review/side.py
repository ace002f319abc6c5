"""Beside one review: claim and release it ("assign to me"), and the precedent panel, the
most similar past decisions of the same checkpoint with what the person decided and why."""

from __future__ import annotations

from typing import Any

import streamlit as st

from builder.review import state
from runtime.access import User
from runtime.errors import LoopgateError
from runtime.queries.precedent import Precedent, similar_decisions
from runtime.queries.votes import VoteStatus, vote_status

PRECEDENTS = 5
"""How many past decisions the panel shows."""


def claim_controls(user: User, review: dict[str, Any]) -> None:
    """ "Assign to me" for a review nobody holds, "Release" for one the user holds, and
    for an admin, taking over one someone else holds. Runtime decides who may."""
    if review.get("status", "pending") != "pending":
        return
    holder, me = review.get("assignee"), user["name"]
    key = f"rv_claim_{review['id']}"
    if holder is None:
        if st.button("Assign to me", key=key, icon=":material/pan_tool:", width="stretch"):
            _assign(review["id"], me, me, f"You hold review {review['id']} now.")
    elif holder == me:
        if st.button("Release", key=key, icon=":material/undo:", width="stretch"):
            _assign(review["id"], None, me, f"Released review {review['id']}.")
    elif "admin" in (user.get("roles") or []):
        if st.button(f"Take over from {holder}", key=key, width="stretch"):
            _assign(review["id"], me, me, f"You hold review {review['id']} now.")
    else:
        st.caption(f"{holder} holds this review; you can still see and decide it.")


def votes_panel(review: dict[str, Any]) -> VoteStatus | None:
    """For a review several people approve: the policy, who has voted (name, vote, time)
    and what is still needed. Nothing for a review the first answer decides."""
    try:
        status = vote_status(state.engine().store, review)
    except LoopgateError as exc:
        st.caption(f"The votes cannot be shown: {exc}")
        return None
    if status is None:
        return None
    with st.container(border=True):
        st.markdown(f"**Approvers**: {status.policy}  \n**Votes**: {status.badge} approvals")
        if review.get("status", "pending") == "pending":
            st.markdown(f"Still needed: **{status.remaining}**")
        if not status.votes:
            st.caption("Nobody has voted yet.")
        for v in status.votes:
            icon = "✅" if v.action == "approve" else "❌"
            why = f" ({v.reason})" if v.reason else ""
            st.markdown(
                f"{icon} **{v.voter}** {v.action}d{why} · {v.at:%Y-%m-%d %H:%M} · {v.group}"
                + (f"  \n:gray[“{v.note}”]" if v.note else "")
            )
    return status


def _assign(review_id: str, assignee: str | None, by: str, done: str) -> None:
    try:
        state.engine().assign(review_id, assignee, by=by)
    except LoopgateError as exc:
        st.error(str(exc))
        return
    st.toast(done)
    st.rerun()


def precedent_panel(user: User, review: dict[str, Any]) -> None:
    """The most similar past decided reviews of this checkpoint, most similar first."""
    try:
        found = similar_decisions(state.engine().store, user, review["id"], k=PRECEDENTS)
    except LoopgateError as exc:
        st.caption(f"No precedent: {exc}")
        return
    st.markdown("**Precedent**: similar decided reviews here")
    if not found:
        st.caption("No decided review of this checkpoint resembles this one yet.")
        return
    for p in found:
        with st.container(border=True):
            st.markdown(
                f"**{describe(p)}** · {p.similarity:.0%} alike  \n"
                f"{p.decided_by}, {p.decided_at:%Y-%m-%d %H:%M}"
            )
            if p.note:
                st.caption(f"“{p.note}”")
            st.caption(_item_line(p.item))


def describe(p: Precedent) -> str:
    """What was decided: ``rejected (too_high)``, ``edited (label)``, ``approved``."""
    words = {
        "approve": "approved",
        "reject": "rejected",
        "edit": "edited",
        "escalate": "escalated",
        "submit": "submitted",
        "accept": "accepted",
        "revise": "sent back",
        "choose": "chose",
    }
    text = words.get(p.action, p.action)
    if p.reason:
        text += f" ({p.reason})"
    elif p.edits:
        text += f" ({', '.join(sorted(p.edits))})"
    return text


def _item_line(item: dict[str, Any], width: int = 160) -> str:
    text = " · ".join(f"{k}: {v}" for k, v in item.items() if v not in (None, ""))
    return text if len(text) <= width else text[: width - 1] + "…"
