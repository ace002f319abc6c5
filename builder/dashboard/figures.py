"""KPI tiles, one Altair chart per named query, and each chart's data as a CSV download.

Widgets here own the session-state keys starting ``dash_csv_``.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from runtime.queries.analytics import Figure, Kpi

# Lower is better for these (the tile's delta turns red when they rise).
_LOWER_IS_BETTER = {"override_rate", "time_to_decision", "timeout_rate", "backlog"}


def fmt_value(value: float | None, unit: str) -> str:
    """A figure for people: 73%, 4.2 min, 1,204; "n/a" when there is none."""
    if value is None:
        return "n/a"
    if unit == "share":
        return f"{value:.1%}"
    if unit == "seconds":
        if abs(value) < 120:
            return f"{value:.0f} s"
        if abs(value) < 7200:
            return f"{value / 60:.1f} min"
        return f"{value / 3600:.1f} h"
    return f"{value:,.0f}"


def fmt_change(change: float | None, unit: str) -> str | None:
    """The change against the previous period: +3.0 pts, -1.5 min, +12."""
    if change is None:
        return None
    if unit == "share":
        return f"{change * 100:+.1f} pts"
    text = fmt_value(abs(change), unit)
    return ("+" if change >= 0 else "-") + text


def kpi_tiles(tiles: list[Kpi]) -> None:
    """One ``st.metric`` per KPI, with the change against the previous period."""
    cols = st.columns(len(tiles))
    for col, k in zip(cols, tiles, strict=True):
        help_text = (
            f"Previous period: {fmt_value(k.previous, k.unit)}"
            if k.previous is not None
            else "No previous period to compare with (all time, or nothing then)."
        )
        col.metric(
            k.title.replace(" and default-decision", "/default"),
            fmt_value(k.value, k.unit),
            delta=fmt_change(k.change, k.unit),
            delta_color="inverse" if k.name in _LOWER_IS_BETTER else "normal",
            help=help_text,
        )


def frame(fig: Figure) -> pd.DataFrame:
    """The figure's rows as a table (what its CSV holds)."""
    return pd.DataFrame(fig.rows)


def csv_bytes(fig: Figure) -> bytes:
    """The figure's rows as CSV (UTF-8)."""
    return frame(fig).to_csv(index=False).encode()


def _bar(df: pd.DataFrame, x: str, y: str, *, sort: Any = None, color: str | None = None):
    enc: dict[str, Any] = {
        "x": alt.X(x, sort=sort, title=None),
        "y": alt.Y(y, title=None),
        "tooltip": list(df.columns),
    }
    if color:
        enc["color"] = alt.Color(color, title=None)
    return alt.Chart(df).mark_bar().encode(**enc)


def chart(fig: Figure) -> alt.Chart | alt.LayerChart | None:
    """The Altair chart of a figure, or None when it has no rows."""
    df = frame(fig)
    if df.empty:
        return None
    name = fig.name
    if name in ("approval_rate", "override_rate", "timeout_rate"):
        return _bar(df, "n:Q", "outcome:N", sort=None)
    if name == "edit_rate":
        return _bar(df, "n:Q", "action:N")
    if name == "rejection_reasons":
        return _bar(df, "n:Q", "reason:N").encode(y=alt.Y("reason:N", sort="-x", title=None))
    if name == "time_to_decision":
        df = df.assign(minutes=df["seconds"] / 60)
        return _bar(df, "minutes:Q", "statistic:N").encode(x=alt.X("minutes:Q", title="minutes"))
    if name == "backlog":
        return _bar(df, "age:N", "n:Q").encode(
            x=alt.X("age:N", sort=list(df["age"]), title=None, axis=alt.Axis(labelAngle=0))
        )
    if name == "automation_rate":
        base = alt.Chart(df).encode(x=alt.X("period:T", title=None))
        bars = base.mark_bar(opacity=0.35).encode(
            y=alt.Y("finished:Q", title="runs finished"), tooltip=list(df.columns)
        )
        line = base.mark_line(point=True, color="#2e7d32").encode(
            y=alt.Y("rate:Q", title="automated", axis=alt.Axis(format="%"))
        )
        return alt.layer(bars, line).resolve_scale(y="independent")
    if name == "choice_shares":
        return _bar(df, "n:Q", "checkpoint:N", color="option:N")
    if name == "escalations":
        return _bar(df, "n:Q", "team:N", color="source:N")
    if name == "throughput":
        long = df.melt(
            id_vars=["reviewer"],
            value_vars=["approved", "rejected", "escalated"],
            var_name="decision",
            value_name="count",
        )
        return _bar(long, "count:Q", "reviewer:N", color="decision:N")
    if name == "calibration":
        points = (
            alt.Chart(df)
            .mark_line(point=True)
            .encode(
                x=alt.X("mean_confidence:Q", scale=alt.Scale(domain=[0, 1]), title="confidence"),
                y=alt.Y("agreement:Q", scale=alt.Scale(domain=[0, 1]), title="agreement"),
                tooltip=list(df.columns),
            )
        )
        diagonal = (
            alt.Chart(pd.DataFrame({"x": [0, 1], "y": [0, 1]}))
            .mark_line(strokeDash=[4, 4], color="gray")
            .encode(x="x:Q", y="y:Q")
        )
        return alt.layer(diagonal, points)
    return None


def figure_block(fig: Figure) -> None:
    """A figure's heading, headline, chart, CSV download and notes."""
    st.markdown(f"**{fig.title}**: {_headline(fig)}")
    drawn = chart(fig)
    if drawn is None or not fig.value:
        st.caption("Nothing to show for these filters.")
    else:
        st.altair_chart(drawn.properties(height=_height(fig)), width="stretch")
    st.download_button(
        "Download CSV",
        data=csv_bytes(fig),
        file_name=f"{fig.name}.csv",
        mime="text/csv",
        key=f"dash_csv_{fig.name}",
        disabled=not fig.rows,
    )
    note = fig.note
    if fig.ignored_filters:
        note += f" Not filtered by: {', '.join(fig.ignored_filters)}."
    st.caption(note)


def _height(fig: Figure) -> int:
    """Pixels for a chart: horizontal bars get room per category, the others 200."""
    if fig.name in ("backlog", "automation_rate", "calibration"):
        return 200
    return min(240, 50 + 30 * len(fig.rows))


def _headline(fig: Figure) -> str:
    if fig.name == "time_to_decision":
        s = fig.summary
        return (
            f"median {fmt_value(s['p50'], 'seconds')}, p95 {fmt_value(s['p95'], 'seconds')} "
            f"({s['n']:,} decisions)"
        )
    if fig.name == "calibration":
        return (
            f"ECE {fig.value:.3f} over {fig.summary['judged']:,} reviewed items"
            if (fig.value is not None)
            else "no reviewed confidence-gate items"
        )
    if fig.unit == "share":
        parts = {k: v for k, v in fig.summary.items() if isinstance(v, int)}
        detail = ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in parts.items())
        return f"{fmt_value(fig.value, 'share')} ({detail})"
    return fmt_value(fig.value or 0, fig.unit)
