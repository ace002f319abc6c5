"""The threshold what-if: pick a confidence gate and a target error rate, see the curve.

Widgets here own the session-state keys starting ``dash_wi_``.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from builder.dashboard.figures import fmt_value
from runtime.errors import LoopgateError
from runtime.queries import analytics
from runtime.queries.analytics import AnalyticsFilter, WhatIf
from runtime.store.contract import Store


def curve(w: WhatIf) -> alt.LayerChart:
    """Reviews needed and corrected items let through, per threshold, with the current
    threshold (grey) and the recommended one (green) marked."""
    df = pd.DataFrame([p.model_dump() for p in w.points])
    df["slipped"] = df["slipped_observed"] + df["slipped_estimated"].fillna(0)
    long = df.melt(
        id_vars=["threshold"],
        value_vars=["reviews", "slipped"],
        var_name="series",
        value_name="items",
    )
    long["series"] = long["series"].map(
        {"reviews": "reviews needed", "slipped": "corrected items let through"}
    )
    lines = (
        alt.Chart(long)
        .mark_line()
        .encode(
            x=alt.X("threshold:Q", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("items:Q", title="items"),
            color=alt.Color(
                "series:N",
                title=None,
                scale=alt.Scale(
                    domain=["reviews needed", "corrected items let through"],
                    range=["#1f77b4", "#d62728"],
                ),
                legend=alt.Legend(orient="top"),
            ),
            tooltip=["threshold", "series", "items"],
        )
    )
    marks = [{"threshold": w.current_threshold, "what": "current"}]
    if w.recommended is not None:
        marks.append({"threshold": w.recommended, "what": "meets the target"})
    rules = (
        alt.Chart(pd.DataFrame(marks))
        .mark_rule(strokeDash=[5, 3], size=2)
        .encode(
            x="threshold:Q",
            color=alt.Color(
                "what:N",
                scale=alt.Scale(domain=["current", "meets the target"], range=["gray", "green"]),
                title=None,
                legend=alt.Legend(orient="top"),
            ),
            tooltip=["what", "threshold"],
        )
    )
    return alt.layer(lines, rules).resolve_scale(color="independent").properties(height=260)


def _gate_choices(dims: dict[str, Any], f: AnalyticsFilter) -> list[tuple[str, str]]:
    gates = [(wf, node) for wf, nodes in sorted(dims["gates"].items()) for node in nodes]
    if f.workflow_id is not None:
        gates = [g for g in gates if g[0] == f.workflow_id] or gates
    return gates


def what_if_section(store: Store, user: dict[str, Any], dims: dict[str, Any], f: AnalyticsFilter):
    """The what-if for one confidence gate, over the filter's window and version."""
    st.subheader("Threshold what-if")
    gates = _gate_choices(dims, f)
    if not gates:
        st.info(
            "No workflow has a confidence gate. Add a `confidence_gate` node after an AI node "
            "in the Builder to replay its decisions at other thresholds here."
        )
        return
    left, right = st.columns([2, 1])
    gate = left.selectbox(
        "Confidence gate", gates, format_func=lambda g: f"{g[0]} / {g[1]}", key="dash_wi_gate"
    )
    target = right.number_input(
        "Target error rate (%)",
        min_value=0.0,
        max_value=100.0,
        value=5.0,
        step=0.5,
        key="dash_wi_target",
        help="Share of items passing without a person that a person would have corrected.",
    )
    version = f.workflow_version if f.workflow_id == gate[0] else None
    gf = f.model_copy(
        update={"workflow_id": gate[0], "node_id": gate[1], "workflow_version": version}
    )
    try:
        w = analytics.threshold_what_if(store, user, gf, target_error_rate=target / 100)
    except (LoopgateError, ValueError) as exc:
        st.error(str(exc))
        return
    if not w.reviewed and not w.passed_unreviewed:
        st.caption("No item reached this gate in the period.")
        return
    cur = w.current()
    best = next((p for p in w.points if p.threshold == w.recommended), None)
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Current threshold", f"{w.current_threshold:.2f}")
    c2.metric("Error rate now", fmt_value(cur.error_rate, "share"))
    c3.metric(
        f"Lowest threshold at ≤{target:g}% errors",
        "none" if w.recommended is None else f"{w.recommended:.2f}",
    )
    c4.metric(
        "Reviews saved there",
        "n/a" if best is None else f"{best.reviews_saved:+,}",
        help="Against the current threshold; negative means more reviews.",
    )
    st.altair_chart(curve(w), width="stretch")
    st.warning(" ".join(w.notes))
    st.caption(
        f"{w.reviewed:,} items decided at the gate ({w.corrected:,} corrected), "
        f"{w.passed_unreviewed:,} passed with no person, {w.sampled:,} in the audit sample "
        f"({w.sampled_corrected:,} corrected)."
    )
    points = pd.DataFrame([p.model_dump() for p in w.points])
    st.download_button(
        "Download CSV",
        data=points.to_csv(index=False).encode(),
        file_name=f"what_if_{gate[0]}_{gate[1]}.csv",
        mime="text/csv",
        key="dash_csv_what_if",
    )
