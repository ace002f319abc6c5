"""The Audit page's widgets: the search with its pages and exports, a run's timeline, and
the chain check (docs/audit.md). Reads go through ``runtime.queries.audit``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from builder.ops.common import compact, download_buttons, time_window
from builder.shell import resources
from runtime.access import User
from runtime.errors import LoopgateError
from runtime.queries import audit as audit_queries
from runtime.queries.audit import AuditSearch

KINDS = (
    "run.started",
    "step",
    "audit",
    "review.requested",
    "review.decided",
    "review.expired",
    "review.decision_failed",
    "run.succeeded",
    "run.failed",
    "run.retried",
    "run.cancelled",
    "workflow.saved",
    "user.created",
    "user.updated",
    "outbox.sent",
    "outbox.failed",
)
"""The event kinds the search offers (docs/audit.md)."""

PAGE_SIZE = 50
_SEARCH = "aud_search"  # the search last submitted
_OFFSET = "aud_offset"
_CHAIN = "aud_chain"  # the last chain check
_TIMELINE_RUN = "aud_tl_run"


def search_form() -> AuditSearch:
    """The search form; returns the search last submitted (everything, at first)."""
    with st.form("aud_form"):
        a, b, c = st.columns(3)
        run_id = a.text_input("Run", key="aud_run", placeholder="run_…")
        review_id = b.text_input("Review", key="aud_review", placeholder="rev_…")
        actor = c.text_input("User", key="aud_actor", placeholder="who acted, e.g. rae")
        d, e, f = st.columns(3)
        node_id = d.text_input("Node", key="aud_node", placeholder="node id, e.g. manager")
        kind = e.selectbox("Kind", KINDS, index=None, key="aud_kind", placeholder="any kind")
        text = f.text_input("Text in the event data", key="aud_text")
        since, until = time_window("aud")
        if st.form_submit_button("Search", type="primary", icon=":material/search:"):
            st.session_state[_SEARCH] = AuditSearch(
                run_id=run_id,
                review_id=review_id,
                actor=actor,
                node_id=node_id,
                kind=kind,
                text=text,
                since=since,
                until=until,
            )
            st.session_state[_OFFSET] = 0
            if run_id.strip():  # the timeline follows the run searched for
                st.session_state[_TIMELINE_RUN] = run_id.strip()
    return st.session_state.get(_SEARCH) or AuditSearch()


def event_rows(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Audit events as the tables show them (data on one line)."""
    return [
        {
            "seq": ev["seq"],
            "time (UTC)": ev["occurred_at"],
            "kind": ev["kind"],
            "run": ev.get("run_id") or "",
            "review": ev["review_id"] or "",
            "node": ev["node_id"] or "",
            "user": ev["actor"] or "",
            "data": compact(ev["data"]),
        }
        for ev in events
    ]


def _turn(delta: int) -> None:
    st.session_state[_OFFSET] = max(0, st.session_state.get(_OFFSET, 0) + delta)


def results(user: User, search: AuditSearch) -> None:
    """The search's current page (newest first), paging buttons and the exports."""
    store = resources.engine().store
    offset = st.session_state.get(_OFFSET, 0)
    try:
        page = audit_queries.search_audit(store, user, search, page_size=PAGE_SIZE, offset=offset)
    except (LoopgateError, ValueError) as exc:
        st.error(str(exc))
        return
    if not page.events:
        st.info("No audit event matches this search." if offset == 0 else "No more events.")
    else:
        last = offset + len(page.events)
        st.caption(f"Events {offset + 1} to {last}, newest first" + (" (more follow)" * page.more))
        st.dataframe(event_rows(page.events), hide_index=True, width="stretch")
    prev, nxt, _ = st.columns([1, 1, 6])
    prev.button("Newer", key="aud_prev", disabled=offset == 0, on_click=_turn, args=(-PAGE_SIZE,))
    nxt.button("Older", key="aud_next", disabled=not page.more, on_click=_turn, args=(PAGE_SIZE,))
    st.markdown(f"**Export this search** (oldest first, up to {audit_queries.MAX_EXPORT:,} events)")

    def write(path: Path, fmt: str) -> int:
        return audit_queries.export_search(store, user, search, fmt, path)  # type: ignore[arg-type]

    download_buttons(
        "loopgate-audit",
        write,
        ("csv", "parquet", "jsonl"),
        key="aud_export",
        stamp=search.model_dump_json(),
    )


def timeline(user: User) -> None:
    """A run's full timeline, oldest first: pick the run by its id (a search by run fills
    it in; call :func:`search_form` first)."""
    run_id = st.text_input("Run id", key=_TIMELINE_RUN).strip()
    if not run_id:
        st.caption("Give a run id (a search by run fills it in) to see every event of that run.")
        return
    events = audit_queries.run_timeline(resources.engine().store, user, run_id)
    if not events:
        st.info(f"The audit trail has no event of run {run_id}.")
        return
    st.caption(f"{len(events)} events of run {run_id}, oldest first")
    st.dataframe(event_rows(events), hide_index=True, width="stretch")


def _check(user: User) -> None:
    result = audit_queries.check_chain(resources.engine().store, user)
    st.session_state[_CHAIN] = result


def chain_check(user: User) -> None:
    """The chain check (like ``loopgate audit verify``): its result, and the first bad row
    when it fails."""
    st.caption(
        "Recomputes every row's hash, checks the seal signed with the key kept outside the "
        "database, and cross-checks settled reviews and finished runs against the trail."
    )
    st.button(
        "Check the audit chain",
        key="aud_check",
        on_click=_check,
        args=(user,),
        icon=":material/verified:",
    )
    result = st.session_state.get(_CHAIN)
    if result is None:
        return
    if result.ok:
        st.success(f"Chain check passed: {result.message}")
        return
    st.error(f"Chain check failed: {result.message}")
    if result.bad_row is not None:
        row = result.bad_row
        st.markdown(f"**First bad row: {row['seq']}** ({row['kind']})")
        st.dataframe(
            [{**r, "prev hash": row["prev_hash"], "hash": row["hash"]} for r in event_rows([row])],
            hide_index=True,
            width="stretch",
        )
