"""Bulk decisions: approve or reject many reviews (the ticked ones, or every one matching
the filters) with one reason, through ``Engine.decide_many``: each review becomes its own
decision and audit event; those that cannot take it (decided meanwhile, another team, a
reason not in their list) are reported one by one and the others go through.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from builder.review import queue, state
from runtime.access import User
from runtime.engine.results import BatchItemError
from runtime.errors import LoopgateError
from runtime.nodes.base import Decision
from runtime.queries.reviews import ReviewQueue

CAP = 5_000
"""The most reviews one bulk action takes (more: narrow the filters and repeat)."""

_REPORT = "rv_bulk_report"
SELECTED, MATCHING = "ticked", "matching"
SCOPES = {SELECTED: "the ticked ones", MATCHING: "all matching the filters"}
"""The choices of which reviews a bulk action takes (labels that stay the same)."""


@dataclass
class Report:
    """What a bulk action did.

    Attributes:
        action: ``approve`` or ``reject``.
        done: how many reviews were decided.
        failed: ``(review id, why)`` for each one that was not.
        voted: of ``done``, the votes on multi-approver reviews that still wait for others.
    """

    action: str
    done: int
    failed: list[tuple[str, str]]
    voted: int = 0


def run(user: User, ids: list[str], decision: Decision, progress: Any = None) -> Report:
    """Apply one decision to many reviews and say what happened to each.

    Args:
        user: the signed-in user (the decider of every review).
        ids: the reviews.
        decision: the decision (``approve``, or ``reject`` with a reason).
        progress: called with ``(done, total)`` as chunks are committed.

    Returns:
        The report.
    """
    try:
        results = state.engine().decide_many(ids, decision, by=user["name"], progress=progress)
    except LoopgateError as exc:
        return Report(decision.action, 0, [(i, str(exc)) for i in ids])
    failed = [(ids[r.index], r.error) for r in results if isinstance(r, BatchItemError)]
    voted = sum(1 for r in results if not isinstance(r, BatchItemError) and r.votes)
    return Report(decision.action, len(results) - len(failed), failed, voted)


def reasons(q: ReviewQueue) -> list[str]:
    """The reject reasons offered: those of the reviews on the page, in first-seen order."""
    seen: dict[str, None] = {}
    for r in q.items:
        for code in r.get("reason_codes") or []:
            seen.setdefault(code, None)
    return list(seen)


def bar(user: User, q: ReviewQueue) -> bool:
    """The bulk bar: which reviews (ticked / all matching), approve, or reject with a reason.

    Runs the action with a progress bar (left on the page) and keeps its report for
    :func:`show_report`.

    Args:
        user: the signed-in user.
        q: the current queue page (its total and reasons).

    Returns:
        True when an action ran (the caller reads the queue again).
    """
    ticked = queue.selected()
    with st.expander("Bulk decision", expanded=bool(ticked), icon=":material/done_all:"):
        st.caption(f"{len(ticked)} ticked on this page · {q.total} matching the filters")
        scope = st.radio(
            "Which reviews",
            [SELECTED, MATCHING],
            format_func=SCOPES.get,
            horizontal=True,
            key="rv_bulk_scope",
        )
        codes = reasons(q)
        reason = st.selectbox(
            "Reason (to reject)",
            codes,
            index=None,
            placeholder="Pick a reason",
            key="rv_bulk_reason",
        )
        left, right = st.columns(2)
        approve = left.button("Approve all of them", key="rv_bulk_approve", type="primary")
        reject = right.button("Reject all of them", key="rv_bulk_reject")
    if not (approve or reject):
        return False
    ids = ticked if scope == SELECTED else queue.matching_ids(user, CAP)
    if not ids:
        st.error("No review to decide: tick some, or pick all matching the filters.")
        return False
    if reject and not reason:
        st.error("Pick a reason to reject them with; nothing was decided.")
        return False
    decision = Decision(action="approve") if approve else Decision(action="reject", reason=reason)
    st.session_state.pop(_REPORT, None)
    slot = st.empty()
    progress = slot.progress(0.0, text=f"Deciding {len(ids)} review(s)…")

    def tick(done: int, total: int) -> None:
        progress.progress(done / total, text=f"Decided {done} of {total}")

    report = run(user, ids, decision, tick)
    slot.empty()  # the finished bar is drawn by show_report, with the outcome
    queue.clear_selection()
    st.session_state[_REPORT] = report
    return True


def show_report() -> None:
    """The last bulk action's report, until it is dismissed or another one runs: its
    finished progress bar, how many went through, and each one that did not."""
    report: Report | None = st.session_state.get(_REPORT)
    if report is None:
        return
    total = report.done + len(report.failed)
    st.progress(1.0, text=f"Done: {report.done} of {total} decided")
    verb = "approved" if report.action == "approve" else "rejected"
    if report.done:
        st.success(f"{report.done} review(s) {verb}, each its own decision in the audit trail.")
        if report.voted:
            st.info(
                f"{report.voted} of them need several approvers: your vote is recorded and "
                "they wait for the others' (the queue shows how many approvals each has)."
            )
    if report.failed:
        st.warning(f"{len(report.failed)} review(s) were not {verb}; the others went through:")
        st.dataframe(
            [{"review": rid, "why": why} for rid, why in report.failed],
            hide_index=True,
            width="stretch",
        )
    if st.button("Dismiss", key="rv_bulk_dismiss"):
        st.session_state.pop(_REPORT, None)
        st.rerun()
