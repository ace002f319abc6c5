"""The Runs page's widgets: filters, the run list with its pages, a run's detail, and retry,
cancel and fork (the engine checks the same roles as `loopgate retry` / `runs cancel` /
`runs fork`; the fork panel is :mod:`builder.ops.fork`)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from builder.ops import fork
from builder.ops.common import compact, remember, show_outcome, time_window
from builder.shell import resources
from builder.shell.session import has_role
from runtime.access import User
from runtime.engine import Engine
from runtime.errors import LoopgateError
from runtime.queries import catalog
from runtime.queries import runs as run_queries
from runtime.queries.runs import RunDetail, RunFilter

STATUSES = ("waiting", "running", "succeeded", "failed")
ACTING_ROLES = ("designer", "operator")
"""Roles that may retry and cancel runs (admins too): the engine's rule, shown up front."""
PAGE_SIZE = 50
_FILTER = "runs_filter"
_OFFSET = "runs_offset"
_MSG = "runs_msg"
_PICK = "runs_pick"


def retry_run(engine: Engine, user: User, run_id: str) -> str:
    """Retry a failed run the user may see, as that user; says how it ended.

    Raises:
        NotFoundError: no such run, or one the user may not see.
        AccessError: the user may not retry runs.
        RunError: the run is not failed.
    """
    run_queries.run_detail(engine.store, user, run_id)  # may this user see it at all?
    res = engine.retry(run_id, by=user["name"])
    return f"Run {run_id} retried: {_where(res)}."


def cancel_run(engine: Engine, user: User, run_id: str, reason: str | None) -> str:
    """Cancel a waiting run the user may see, as that user, with an optional reason.

    Raises:
        NotFoundError: no such run, or one the user may not see.
        AccessError: the user may not cancel runs.
        RunError: the run has finished, or its review is being decided right now.
    """
    run_queries.run_detail(engine.store, user, run_id)
    res = engine.cancel(run_id, by=user["name"], reason=(reason or "").strip() or None)
    return f"Run {run_id} cancelled ({res.error})."


def _where(res: Any) -> str:
    if res.status == "waiting":
        return f"now waiting at {res.waiting_on} for review {res.review_id}"
    if res.status == "failed":
        return f"failed again: {res.error}"
    return f"{res.status}" + (f" ({res.result})" if res.result else "")


def filters(user: User) -> RunFilter:
    """The filter row; returns the filters (applied as they change)."""
    store = resources.engine().store
    a, b, c, d = st.columns([2, 3, 1, 3])
    status = a.selectbox("Status", STATUSES, index=None, key="runs_status", placeholder="any")
    workflows = [w["id"] for w in catalog.list_workflows(store, user)]
    workflow = b.selectbox(
        "Workflow", workflows, index=None, key="runs_wf", placeholder="every workflow"
    )
    version = c.number_input(
        "Version", min_value=1, value=None, step=1, key="runs_version", disabled=not workflow
    )
    batch = d.text_input("Batch", key="runs_batch", placeholder="batch id")
    since, until = time_window("runs")
    chosen = RunFilter(
        status=status,
        workflow_id=workflow,
        workflow_version=int(version) if version and workflow else None,
        batch_id=batch,
        since=since,
        until=until,
    )
    if st.session_state.get(_FILTER) != chosen:  # another filter: back to the first page
        st.session_state[_FILTER] = chosen
        st.session_state[_OFFSET] = 0
    return chosen


def run_rows(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Runs as the table shows them."""
    return [
        {
            "run": r["id"],
            "workflow": f"{r['workflow_id']} v{r['workflow_version']}",
            "status": r["status"],
            "at": r["current_node"] or "",
            "steps": r["step_count"],
            "result / error": r["error"] or r["result"] or "",
            "batch": r["batch_id"] or "",
            "started by": r["started_by"] or "",
            "created (UTC)": r["created_at"],
        }
        for r in runs
    ]


def _turn(delta: int) -> None:
    st.session_state[_OFFSET] = max(0, st.session_state.get(_OFFSET, 0) + delta)


def run_list(user: User, chosen: RunFilter) -> list[dict[str, Any]]:
    """The current page of runs and its paging buttons; returns the page's runs."""
    offset = st.session_state.get(_OFFSET, 0)
    try:
        page = run_queries.find_runs(
            resources.engine().store, user, chosen, page_size=PAGE_SIZE, offset=offset
        )
    except (LoopgateError, ValueError) as exc:
        st.error(str(exc))
        return []
    if not page.runs:
        st.info("No run matches these filters." if offset == 0 else "No more runs.")
    else:
        more = " (more follow)" if page.more else ""
        st.caption(f"Runs {offset + 1} to {offset + len(page.runs)}, newest first{more}")
        st.dataframe(run_rows(page.runs), hide_index=True, width="stretch")
    prev, nxt, _ = st.columns([1, 1, 6])
    prev.button("Newer", key="runs_prev", disabled=offset == 0, on_click=_turn, args=(-PAGE_SIZE,))
    nxt.button("Older", key="runs_next", disabled=not page.more, on_click=_turn, args=(PAGE_SIZE,))
    return page.runs


def _act(action: Any, *args: Any) -> None:
    try:
        remember(_MSG, "success", action(resources.engine(), *args))
    except LoopgateError as exc:
        remember(_MSG, "error", str(exc))


def outcome() -> None:
    """The last retry's or cancel's message, until the next one."""
    show_outcome(_MSG)


def pick_run(runs: list[dict[str, Any]]) -> str | None:
    """Pick one of the listed runs (or type any id); returns it."""
    ids = [r["id"] for r in runs]
    labels = {r["id"]: f"{r['id']}  {r['workflow_id']}  {r['status']}" for r in runs}
    current = st.session_state.get(_PICK)
    if current and current not in labels:  # e.g. retried: no longer "failed"; keep it open
        ids.insert(0, current)
        labels[current] = f"{current}  (not in this list)"
    a, b = st.columns([3, 2])
    picked = a.selectbox(
        "Run", ids, index=None, key=_PICK, format_func=labels.get, placeholder="pick a run"
    )
    typed = b.text_input("or its id", key="runs_typed").strip()
    return typed or picked


def run_detail(user: User, run_id: str) -> None:
    """A run's detail: status, item, steps, reviews and decisions, corrections, outputs,
    errors; and Retry or Cancel when it is failed or waiting."""
    try:
        detail = run_queries.run_detail(resources.engine().store, user, run_id)
    except LoopgateError as exc:
        st.error(str(exc))
        return
    run = detail.run
    st.subheader(f"Run {run['id']}")
    a, b, c, d = st.columns(4)
    a.metric("Status", run["status"])
    b.metric("Workflow", f"{run['workflow_id']} v{run['workflow_version']}")
    c.metric("Steps", run["step_count"])
    d.metric("Started by", run["started_by"] or "-")
    fork.links(user, run_id)
    _actions(user, detail)
    for i, err in enumerate(detail.errors):
        text = f"{err['at']:%Y-%m-%d %H:%M:%S} at {err['node_id'] or '-'}: {err['error']}"
        if run["status"] == "failed" and i == len(detail.errors) - 1:
            st.error(text)
        else:
            st.caption(f"Failed earlier, then retried: {text}")
    if detail.pending_review:
        p = detail.pending_review
        st.info(f"Waiting for review {p['id']} at {p['node_id']} (team {p['team'] or '-'}).")
    fork.panel(user, run_id)
    _sections(detail)


def _actions(user: User, detail: RunDetail) -> None:
    run_id, status = detail.run["id"], detail.run["status"]
    may_act = has_role(user, *ACTING_ROLES)
    if status == "failed":
        st.button(
            "Retry",
            key="runs_retry",
            type="primary",
            disabled=not may_act,
            on_click=_act,
            args=(retry_run, user, run_id),
            help="Run it again from the node that failed.",
        )
    elif status in ("waiting", "running"):
        left, right = st.columns([3, 1])
        reason = left.text_input("Reason to cancel", key="runs_reason")
        right.button(
            "Cancel run",
            key="runs_cancel",
            disabled=not may_act,
            on_click=_act,
            args=(cancel_run, user, run_id, reason),
        )
    if status in ("failed", "waiting", "running") and not may_act:
        st.caption("Retrying and cancelling needs the designer, operator or admin role.")


def _sections(detail: RunDetail) -> None:
    tabs = st.tabs(["Steps", "Decisions", "Corrections", "Item", "Outputs"])
    with tabs[0]:
        steps = [
            {
                "time (UTC)": ev["occurred_at"],
                "kind": ev["kind"],
                "node": ev["node_id"] or "",
                "by": ev["actor"] or "",
                "data": compact(ev["data"]),
            }
            for ev in detail.events
        ]
        st.dataframe(steps, hide_index=True, width="stretch")
    with tabs[1]:
        if detail.reviews:
            cols = ("id", "node_id", "status", "team", "decided_by", "action", "reason")
            rows = [{c: r[c] for c in cols} | {"data": compact(r["data"])} for r in detail.reviews]
            st.dataframe(rows, hide_index=True, width="stretch")
        else:
            st.caption("No review in this run.")
    with tabs[2]:
        if detail.corrections:
            cols = ("checkpoint_id", "node_id", "path", "reviewer", "action")
            rows = [
                {c: r[c] for c in cols}
                | {"AI": compact(r["ai_output"]), "person": compact(r["human_output"])}
                for r in detail.corrections
            ]
            st.dataframe(rows, hide_index=True, width="stretch")
        else:
            st.caption("No correction or judged AI output in this run.")
    with tabs[3]:
        st.json(detail.run["item"])
    with tabs[4]:
        st.json(detail.outputs, expanded=1)
