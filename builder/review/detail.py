"""One review: why the run stopped, the item and the context the checkpoint shows, the AI
output with its confidence and model version, the run's history so far, and the side column
(facts about the review; claim/release and precedent render there).

Reads go through ``runtime.queries`` (``reviews.get_review``, ``runs.run_detail``): a review
the user may not see reads as missing, with the same message.
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from builder.review import clock, side, state
from builder.review.queue import PRIORITY_ICON, holder_text
from runtime.access import User
from runtime.errors import LoopgateError, NotFoundError
from runtime.nodes import get_node_type
from runtime.queries import reviews, runs

AI_MARKERS = ("confidence", "model_version")
"""A step output holding either of these is an AI output."""


def load(user: User, review_id: str) -> tuple[dict[str, Any] | None, str | None]:
    """The review to show, or why there is none.

    Args:
        user: the signed-in user.
        review_id: the id from the deep link.

    Returns:
        ``(review, None)``, or ``(None, message)`` for a review that does not exist or
        belongs to a team the user is not in (the same message for both).
    """
    try:
        return reviews.get_review(state.engine().store, user, review_id), None
    except NotFoundError:
        return None, (
            f"Review {review_id} does not exist or is not one you may see (it belongs to "
            "another team). Pick one from your queue."
        )


def ai_outputs(context: dict[str, Any]) -> list[dict[str, Any]]:
    """The AI outputs among the run's steps, for the "AI output" table.

    Args:
        context: the review's ``context`` (``steps``: node id -> output).

    Returns:
        One row per AI step: ``node``, ``answer`` (its label, or the other fields),
        ``confidence``, ``model`` and ``model version``.
    """
    out = []
    for node, output in (context.get("steps") or {}).items():
        if not isinstance(output, dict) or not any(m in output for m in AI_MARKERS):
            continue
        skip = {"confidence", "scores", "model", "model_version", "provider", "text"}
        answer = output.get("label")
        if answer is None:
            answer = json.dumps({k: v for k, v in output.items() if k not in skip}, default=str)
        out.append(
            {
                "node": node,
                "answer": answer,
                "confidence": output.get("confidence"),
                "model": output.get("model"),
                "model version": output.get("model_version"),
            }
        )
    return out


def history_rows(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A run's audit events as history rows: when, what, where, who, detail.

    Args:
        events: ``RunDetail.events``.

    Returns:
        Rows for a table.
    """
    rows = []
    for e in events:
        data = e.get("data") or {}
        detail = {
            k: data[k]
            for k in ("branch", "action", "team", "priority", "reason", "note", "result", "error")
            if data.get(k) not in (None, "", {})
        }
        rows.append(
            {
                "when": e["occurred_at"],
                "what": e["kind"],
                "node": e.get("node_id") or "",
                "by": e.get("actor") or "",
                "detail": ", ".join(f"{k}: {v}" for k, v in detail.items()),
            }
        )
    return rows


def header(review: dict[str, Any]) -> None:
    """The review's title line and, for one no longer pending, who decided it and when."""
    ntype = get_node_type(review["kind"])
    title = ntype.title if ntype is not None else review["kind"]
    st.subheader(
        f"{PRIORITY_ICON.get(review['priority'], '')} {review['workflow_id']} · "
        f"{review['node_id']} ({title})"
    )
    if review.get("status", "pending") != "pending":
        by, at = review.get("decided_by"), review.get("decided_at")
        action = f" ({review['action']})" if review.get("action") else ""
        st.warning(
            f"This review is {review['status']}: decided by {by or 'nobody'} at {at}{action}. "
            "Nothing is left to decide here."
        )


def why_stopped(review: dict[str, Any]) -> None:
    """Why the run stopped: the checkpoint's instructions, its note (the condition, the
    confidence below the threshold, the escalation's note) and the facts it recorded."""
    st.markdown("#### Why it stopped")
    if review.get("instructions"):
        st.markdown(review["instructions"])
    if review.get("note"):
        st.info(review["note"])
    if review.get("escalated_from"):
        st.caption(f"Escalated from review {review['escalated_from']}.")
    display = review.get("display") or {}
    facts = {
        k: v for k, v in display.items() if k != "ai_output" and not isinstance(v, dict | list)
    }
    if facts:
        st.markdown(" · ".join(f"**{k}**: `{v}`" for k, v in facts.items()))


def item_and_context(review: dict[str, Any]) -> None:
    """The item, and the outputs the checkpoint chose to show (feedback's ``show``)."""
    context = review.get("context") or {}
    st.markdown("#### Item")
    item = context.get("item") or {}
    if item:
        st.dataframe(
            [
                {
                    "field": k,
                    # one type per column (Arrow): text, JSON for lists and objects
                    "value": json.dumps(v, default=str) if isinstance(v, dict | list) else str(v),
                }
                for k, v in item.items()
            ],
            hide_index=True,
            width="stretch",
        )
    else:
        st.caption("The item has no fields.")
    shown = {
        k: v
        for k, v in (review.get("display") or {}).items()
        if k != "ai_output" and isinstance(v, dict | list)
    }
    if shown:
        st.markdown("#### What the checkpoint shows")
        for name, value in shown.items():
            st.markdown(f"**{name}**")
            st.json(value, expanded=True)
    rows = ai_outputs(context)
    if rows:
        st.markdown("#### AI output")
        st.dataframe(rows, hide_index=True, width="stretch")


def history(user: User, review: dict[str, Any]) -> None:
    """The run's history so far (its audit events), in an expander."""
    try:
        detail = runs.run_detail(state.engine().store, user, review["run_id"])
    except LoopgateError as exc:
        st.caption(f"The run's history cannot be shown: {exc}")
        return
    with st.expander(f"Run {review['run_id']}: history ({len(detail.events)} events)"):
        st.dataframe(history_rows(detail.events), hide_index=True, width="stretch")


def side_column(user: User, review: dict[str, Any]) -> None:
    """The column beside the request: who holds the review, its team, age and deadline.

    Claim and release (``Engine.assign``) sit below these facts, and the precedent panel
    (``runtime.queries.precedent``) below them (:mod:`builder.review.side`).
    """
    now = state.now()
    text, overdue = clock.time_left(review.get("deadline"), now)
    sla = ""
    if review.get("due_at") is not None:
        sla_text, late = clock.time_left(review["due_at"], now)
        sla = "  \n**SLA**: " + (f":red[**{sla_text}**]" if late else sla_text)
    with st.container(border=True):
        st.markdown(
            f"**Team**: {review.get('team') or '(none)'}  \n"
            f"**Assignee**: {holder_text(review, user)}  \n"
            f"**Priority**: {review['priority']}  \n"
            f"**Waiting**: {clock.age(review['created_at'], now)}  \n"
            f"**Deadline**: "
            + (f":red[**{text}**]" if overdue else text)
            + (f" (then {review['on_timeout']})" if review.get("on_timeout") else "")
            + sla
            + (
                f"  \n**Escalation**: step {review['escalation_step']} done"
                if review.get("escalation_step")
                else ""
            )
        )
        st.caption(
            f"Review {review['id']} · run {review['run_id']} · v{review['workflow_version']}"
        )
        side.claim_controls(user, review)
    side.votes_panel(review)
    side.precedent_panel(user, review)
