"""The Dashboard's sidebar filters: period, workflow, version, node, team, reviewer.

They own the session-state keys starting ``dash_f_`` and build one
:class:`~runtime.queries.analytics.AnalyticsFilter`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import streamlit as st

from runtime.queries.analytics import AnalyticsFilter

ANY = "All"
PERIODS: dict[str, int | None] = {
    "Last 24 hours": 1,
    "Last 7 days": 7,
    "Last 30 days": 30,
    "Last 90 days": 90,
    "All time": None,
}
DEFAULT_PERIOD = "Last 30 days"


def _pick(label: str, options: list[Any], key: str, fmt: Any = str) -> Any:
    """A selectbox with ``All`` first; None for All (or a stale choice no longer offered)."""
    choice = st.selectbox(
        label, [ANY, *options], key=key, format_func=lambda o: o if o == ANY else fmt(o)
    )
    return None if choice == ANY else choice


def sidebar_filter(dims: dict[str, Any], now: datetime) -> AnalyticsFilter:
    """Draw the filters in the sidebar and return the filter they make.

    Args:
        dims: what the filters offer (``runtime.queries.analytics.dimensions``).
        now: the end of the period.
    """
    with st.sidebar:
        st.subheader("Filters")
        period = st.selectbox(
            "Period",
            list(PERIODS),
            index=list(PERIODS).index(DEFAULT_PERIOD),
            key="dash_f_period",
            help="KPI tiles compare it with the period of equal length just before.",
        )
        workflow = _pick("Workflow", sorted(dims["workflows"]), "dash_f_workflow")
        version = node = None
        if workflow is not None:
            version = _pick(
                "Version",
                sorted(dims["workflows"].get(workflow, []), reverse=True),
                "dash_f_version",
                fmt=lambda v: f"v{v}",
            )
            nodes = sorted({n for n, _ in dims["nodes"].get(workflow, [])})
            node = _pick("Checkpoint", nodes, "dash_f_node")
        team = _pick("Team", dims["teams"], "dash_f_team")
        reviewer = _pick("Reviewer", dims["reviewers"], "dash_f_reviewer")
    days = PERIODS[period]
    return AnalyticsFilter(
        workflow_id=workflow,
        workflow_version=version,
        node_id=node,
        team=team,
        reviewer=reviewer,
        since=now - timedelta(days=days) if days else None,
        until=now if days else None,
    )


def describe(f: AnalyticsFilter) -> str:
    """The filter in one line, for the caption under the title."""
    parts = []
    if f.since and f.until:
        parts.append(f"{f.since:%Y-%m-%d %H:%M} to {f.until:%Y-%m-%d %H:%M} UTC")
    else:
        parts.append("all time")
    for label, value in (
        ("workflow", f.workflow_id),
        ("version", f.workflow_version),
        ("checkpoint", f.node_id),
        ("team", f.team),
        ("reviewer", f.reviewer),
    ):
        if value is not None:
            parts.append(f"{label} {value}")
    return ", ".join(parts)
