"""The Builder's "Run items" tab: start real runs of the open workflow from a file of items,
with a progress bar while the batch runs and a summary that survives reruns.

The core (:func:`plan_batch`, :func:`start_batch`) is plain Python: tests call it without
Streamlit. The same file started twice does not start its items twice: the file's digest is
the batch id, and the engine starts only the items of a batch not started yet.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st
from pydantic import BaseModel, Field

from builder.design import editor
from builder.shell import resources
from runtime import BatchItemError, Engine, ItemError, NotFoundError, RunResult, Workflow
from runtime.engine.starts import checked_item
from runtime.items import items_from_bytes

Progress = Callable[[int, int], None]
NO_PUBLISHED = (
    "{workflow} has no published version yet, so it cannot run items. Save a version "
    "without errors first (Save version, with no errors under Problems)."
)
LISTED = 20  # bad items and problems shown before "and N more"
RUN_ROWS = 500  # runs kept for the summary's table
_SUMMARY_KEY = "bld_batch_{}"


class BatchPlan(BaseModel):
    """What pressing Start would do with a file of items."""

    workflow_id: str
    version: int
    batch_id: str
    total: int
    earlier: int = Field(description="items started before from the same file")
    bad: list[BatchItemError] = Field(default_factory=list)

    @property
    def to_start(self) -> int:
        """Items that would start a run now."""
        return self.total - self.earlier - len(self.bad)


class BatchSummary(BaseModel):
    """What a batch did; its run counts are of every run of the batch, earlier ones too."""

    workflow_id: str
    version: int
    batch_id: str
    source: str = ""
    total: int
    started: int = Field(description="runs started by this press")
    earlier: int = Field(description="items started before from the same file, not again")
    waiting: int = 0
    succeeded: int = 0
    failed: int = 0
    other: int = Field(0, description="runs in another state (running, cancelled)")
    bad: list[BatchItemError] = Field(default_factory=list)
    runs: list[dict[str, Any]] = Field(default_factory=list, description="the first runs")


# ---------------------------------------------------------------- core (no Streamlit)


def batch_id_for(workflow_id: str, digest: str) -> str:
    """The batch id of a file of items for a workflow: the same file, the same batch."""
    return f"upload:{workflow_id}:{digest[:16]}"


def published_workflow(engine: Engine, workflow_id: str) -> Workflow | None:
    """The newest published version of a workflow, or None when it has none (or is unsaved)."""
    try:
        return engine.workflow(workflow_id)
    except NotFoundError:
        return None


def item_error(error: str) -> str:
    """A bad item's error without the engine's "item for workflow X:" prefix."""
    head, sep, rest = error.partition(": ")
    return rest if sep and head.startswith("item") else error


def plan_batch(engine: Engine, workflow: Workflow, items: Sequence[Any], digest: str) -> BatchPlan:
    """How many items are new, started earlier, or do not match the workflow's input."""
    batch_id = batch_id_for(workflow.id, digest)
    existing = engine.store.batch_runs(batch_id)
    earlier = 0
    errors: list[BatchItemError] = []
    for index, item in enumerate(items):
        if f"{batch_id}:{index}" in existing:
            earlier += 1
            continue
        try:
            checked_item(workflow, item)  # the input, and text the store can hold
        except ItemError as exc:
            errors.append(BatchItemError(index=index, error=str(exc)))
    return BatchPlan(
        workflow_id=workflow.id,
        version=workflow.version or 0,
        batch_id=batch_id,
        total=len(items),
        earlier=earlier,
        bad=errors,
    )


def start_batch(
    engine: Engine,
    workflow_id: str,
    items: Sequence[Any],
    digest: str,
    by: str,
    progress: Progress | None = None,
    *,
    source: str = "",
) -> BatchSummary:
    """Start a run per item with the newest published version, as user ``by``.

    Items started before from the same file (same digest) are not started again; their
    runs are counted as they stand now.

    Raises:
        NotFoundError: the workflow has no published version.
        AccessError: ``by`` may not start runs.
    """
    wf = engine.workflow(workflow_id)
    batch_id = batch_id_for(workflow_id, digest)
    existing = engine.store.batch_runs(batch_id)
    earlier = {i for i in range(len(items)) if f"{batch_id}:{i}" in existing}
    results = engine.start_many(wf, items, by=by, batch_id=batch_id, progress=progress)
    summary = BatchSummary(
        workflow_id=workflow_id,
        version=wf.version or 0,
        batch_id=batch_id,
        source=source,
        total=len(items),
        started=0,
        earlier=len(earlier),
    )
    for index, res in enumerate(results):
        if isinstance(res, BatchItemError):
            summary.bad.append(res)
            continue
        assert isinstance(res, RunResult)
        if index not in earlier:
            summary.started += 1
        if res.status in ("waiting", "succeeded", "failed"):
            setattr(summary, res.status, getattr(summary, res.status) + 1)
        else:
            summary.other += 1
        if len(summary.runs) < RUN_ROWS:
            summary.runs.append(
                {
                    "item": index + 1,
                    "run": res.run_id,
                    "status": res.status + (" (earlier)" if index in earlier else ""),
                    "result": res.result,
                    "team": res.team,
                    "error": res.error,
                }
            )
    return summary


# ---------------------------------------------------------------- the tab


def run_items_panel(ed: editor.Editor, user: dict[str, Any]) -> None:
    """The "Run items" tab: upload a file, preview it, start its runs, see what they did."""
    engine = resources.engine()
    wid = ed.base.id
    wf = published_workflow(engine, wid)
    if wf is None:
        st.info(NO_PUBLISHED.format(workflow=f"`{wid}`"))
        return
    note = ""
    if ed.version is None:
        note = " What the canvas shows is not saved, so it does not run."
    elif ed.version != wf.version:
        note = f" The canvas shows v{ed.version} ({ed.status}), which is not the version that runs."
    st.caption(
        "Starts one real run per item of a JSON Lines, JSON or CSV file; runs the newest "
        f"published version **v{wf.version}** of `{wid}`. Runs that need a person wait for "
        f"review. The same file is never started twice.{note}"
    )
    upload = st.file_uploader(
        "Items file", type=["jsonl", "ndjson", "json", "csv"], key=f"bld_items_{wid}"
    )
    if upload is not None:
        _upload(engine, wf, upload, user)
    summary = st.session_state.get(_SUMMARY_KEY.format(wid))
    if isinstance(summary, BatchSummary):
        _summary(summary)


def _upload(engine: Engine, wf: Workflow, upload: Any, user: dict[str, Any]) -> None:
    try:
        items, digest = items_from_bytes(upload.getvalue(), upload.name)
    except ItemError as exc:
        st.error(
            f"Cannot read {upload.name}; nothing was started.\n\n"
            + _bullets([str(p) for p in exc.problems])
        )
        return
    plan = plan_batch(engine, wf, items, digest)
    st.caption(f"{_n(plan.total, 'item')} in {upload.name}; the first {min(5, plan.total)}:")
    st.dataframe(_preview(items[:5]), hide_index=True, width="stretch")
    last = st.session_state.get(_SUMMARY_KEY.format(wf.id))
    if isinstance(last, BatchSummary) and last.batch_id == plan.batch_id and not plan.to_start:
        return  # the summary below says what this file did
    if plan.earlier:
        st.info(
            f"{plan.earlier:,} of these items {_was(plan.earlier)} started earlier from this "
            "same file; they are not started again."
        )
    if plan.bad:
        st.warning(
            f"{_n(len(plan.bad), 'item')} {_do(len(plan.bad))} not match the workflow's input "
            "and will not start:\n\n"
            + _bullets([f"item {b.index + 1}: {item_error(b.error)}" for b in plan.bad])
        )
    n = plan.to_start
    label = f"Start {n:,} run{'s' if n != 1 else ''}" if n else "Show their runs"
    if not n:
        st.caption("Every good item of this file has a run already.")
    if not st.button(label, type="primary" if n else "secondary", key=f"bld_items_go_{wf.id}"):
        return
    bar = st.progress(0.0, text=f"0 / {plan.total:,} items")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total if total else 1.0, text=f"{done:,} / {total:,} items")

    try:
        summary = start_batch(
            engine, wf.id, items, digest, user["name"], progress, source=upload.name
        )
    finally:
        bar.empty()
    st.session_state[_SUMMARY_KEY.format(wf.id)] = summary
    st.rerun()  # redraw the tab: the file's items now have runs


def _summary(s: BatchSummary) -> None:
    with st.container(border=True):
        st.markdown(
            f"**Last batch** · `{s.source or s.batch_id}` · v{s.version} · {s.total:,} items"
        )
        cols = st.columns(5)
        for col, (label, value, help_) in zip(
            cols,
            [
                ("Started", s.started, "Runs started by this press."),
                ("Waiting for review", s.waiting, "Runs of this batch waiting for a person."),
                ("Succeeded", s.succeeded, None),
                ("Failed", s.failed, None),
                ("Bad items", len(s.bad), "Items that do not match the input; not started."),
            ],
            strict=True,
        ):
            col.metric(label, f"{value:,}", help=help_)
        if s.earlier:
            st.caption(
                f"{_n(s.earlier, 'item')} {_was(s.earlier)} started earlier from the same file "
                "and not started again; the counts include their runs as they stand now."
            )
        if s.other:
            st.caption(f"{_n(s.other, 'run')} in another state (running or cancelled).")
        if s.bad:
            st.markdown(
                "**Bad items**, not started. Fix them and upload a file of just those items "
                "(a changed file is a new batch: its other items would start again).\n\n"
                + _bullets([f"item {b.index + 1}: {item_error(b.error)}" for b in s.bad])
            )
        if s.waiting:
            st.info(
                f"{_n(s.waiting, 'run')} {'waits' if s.waiting == 1 else 'wait'} for review. "
                "Reviewers decide them with "
                f"`loopgate reviews --workflow {s.workflow_id}` and "
                "`loopgate decide REVIEW_ID --action approve --by NAME`, or through the API "
                "(`GET /api/reviews`, `POST /api/reviews/REVIEW_ID/decision`)."
            )
        if s.runs:
            more = f" (the first {len(s.runs):,})" if len(s.runs) < s.total - len(s.bad) else ""
            with st.expander(f"Runs{more}", expanded=False):
                st.dataframe(s.runs, hide_index=True, width="stretch")


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _do(count: int) -> str:
    return "does" if count == 1 else "do"


def _was(count: int) -> str:
    return "was" if count == 1 else "were"


def _bullets(lines: list[str]) -> str:
    shown = [f"- {line}" for line in lines[:LISTED]]
    if len(lines) > LISTED:
        shown.append(f"- and {len(lines) - LISTED:,} more")
    return "\n".join(shown)


def _preview(items: list[Any]) -> list[dict[str, Any]]:
    """Rows a table can show: nested values as JSON text."""
    return [
        {
            k: json.dumps(v, default=str) if isinstance(v, dict | list) else v
            for k, v in item.items()
        }
        for item in items
    ]
