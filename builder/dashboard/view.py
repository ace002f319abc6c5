"""The Dashboard page's body: filters, KPI tiles, the charts, the what-if, the empty state."""

from __future__ import annotations

from typing import Any

import streamlit as st

from builder.dashboard.figures import figure_block, kpi_tiles
from builder.dashboard.filters import describe, sidebar_filter
from builder.dashboard.whatif import what_if_section
from builder.shell import resources
from runtime.errors import LoopgateError
from runtime.queries import analytics
from runtime.queries.sla import overdue_reviews

# Chart pairs, in page order.
LAYOUT: tuple[tuple[str, str], ...] = (
    ("approval_rate", "override_rate"),
    ("rejection_reasons", "edit_rate"),
    ("time_to_decision", "backlog"),
    ("automation_rate", "timeout_rate"),
    ("throughput", "escalations"),
    ("calibration", "choice_shares"),
)

EMPTY_STATE = (
    "**No runs yet, so there is nothing to chart.** The dashboard fills in as work flows "
    "through Loopgate:\n\n"
    "1. Start items: the Builder's batch panel, or `loopgate run WORKFLOW --items FILE.jsonl`.\n"
    "2. Decide the reviews they stop at: `loopgate reviews`, `loopgate decide`, or the API.\n"
    "3. Apply deadlines with `loopgate sweep` (the server does it every round).\n\n"
    "Approval, override and automation rates, time to decision, backlog and the confidence "
    "gates' calibration then appear here."
)


def render(user: dict[str, Any]) -> None:
    """The whole page for a signed-in user who may read analytics."""
    engine = resources.engine()
    store = engine.store
    now = engine.clock()
    try:
        dims = analytics.dimensions(store, user)
    except LoopgateError as exc:
        st.error(str(exc))
        return
    if not dims["workflows"]:
        st.info(EMPTY_STATE)
        return
    f = sidebar_filter(dims, now)
    st.caption(f"Showing {describe(f)}.")
    kpi_tiles(analytics.kpis(store, user, f, now=now))
    sla = overdue_reviews(store, user, now)
    if sla.with_sla:
        st.metric(
            "Overdue reviews (past their SLA, waiting now)",
            f"{sla.overdue:,} of {sla.with_sla:,}",
            help="Pending reviews whose checkpoint sets an SLA (`sla: 8h`), and how many "
            "of them have waited longer than it. The Review queue marks them in red.",
        )
    for pair in LAYOUT:
        cols = st.columns(2)
        for col, name in zip(cols, pair, strict=True):
            if name:
                with col:
                    figure_block(analytics.run_query(store, user, name, f, now=now))
    st.divider()
    what_if_section(store, user, dims, f)
