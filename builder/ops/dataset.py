"""The decisions dataset as downloads (JSON Lines and Parquet), with a preview."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from builder.ops.common import compact, download_buttons, time_window
from builder.shell import resources
from builder.shell.session import has_role
from runtime.access import User
from runtime.errors import LoopgateError
from runtime.queries import catalog, dataset
from runtime.queries.dataset import DatasetFilter

PREVIEW = 20


def may_read(user: User) -> bool:
    """Whether this user may download the dataset (admins, auditors, designers)."""
    return has_role(user, "auditor", *dataset.READER_ROLES)


def dataset_panel(user: User, key: str) -> None:
    """Pick a workflow and a time window; preview the rows; download the decisions
    dataset as JSON Lines or Parquet."""
    store = resources.engine().store
    st.caption(
        "One row per decision: the input, the AI's output, the person's output, the "
        "decision, its reason, the reviewer, the model and its version, and the time "
        "(columns in docs/dataset.md). Also from the command line: "
        "`loopgate export decisions --format jsonl --out decisions.jsonl`."
    )
    workflows = [w["id"] for w in catalog.list_workflows(store, user)]
    workflow = st.selectbox(
        "Workflow", workflows, index=None, key=f"ds_{key}_wf", placeholder="every workflow"
    )
    since, until = time_window(f"ds_{key}")
    filters = DatasetFilter(workflow_id=workflow, since=since, until=until)
    try:
        rows = dataset.decision_rows(store, user, filters, limit=PREVIEW)
    except (LoopgateError, ValueError) as exc:
        st.error(str(exc))
        return
    if not rows:
        st.info("No decision yet matches: decisions appear once reviewers decide.")
    else:
        st.caption(f"The first {len(rows)} rows, oldest first")
        shown = [
            {
                "decided at": r["decided_at"],
                "workflow": r["workflow_id"],
                "checkpoint": r["checkpoint"],
                "decision": r["decision"],
                "reason": r["reason"] or "",
                "reviewer": r["reviewer"] or "",
                "model": f"{r['model']} v{r['model_version']}" if r["model"] else "",
                "input": compact(r["input"], 80),
                "AI output": compact(r["ai_output"], 80),
                "human output": compact(r["human_output"], 80),
            }
            for r in rows
        ]
        st.dataframe(shown, hide_index=True, width="stretch")
    stem = f"loopgate-decisions-{workflow}" if workflow else "loopgate-decisions"

    def write(path: Path, fmt: str) -> int:
        return dataset.export_dataset(
            store,
            user,
            "decisions",
            fmt,
            path,
            filters,
            limit=dataset.MAX_ROWS,  # type: ignore[arg-type]
        )

    st.markdown(f"**Decisions dataset** (up to {dataset.MAX_ROWS:,} rows)")
    download_buttons(
        stem, write, ("jsonl", "parquet"), key=f"ds_{key}_dl", stamp=filters.model_dump_json()
    )
