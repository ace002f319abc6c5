"""The Builder's Versions tab: every saved version, what changed between two of them,
opening one on the canvas, and restoring an old one as the newest version."""

from __future__ import annotations

import streamlit as st

from builder.design import editor
from builder.shell import resources
from builder.shell.session import current_user
from runtime import LoopgateError, queries
from runtime.spec import WorkflowSpec


def versions_panel(ed: editor.Editor) -> None:
    """The saved versions of the open workflow: the list, a diff, open and restore."""
    store = resources.engine().store
    rows = queries.catalog.workflow_versions(store, current_user(), ed.base.id)
    if not rows:
        st.caption("Not saved yet.")
        return
    st.table(  # a table: its text is in the page, for people and for finding
        [
            {
                "version": r["version"],
                "status": r["status"],
                "by": r["created_by"] or "-",
                "when": r["created_at"].strftime("%Y-%m-%d %H:%M"),
                "message": r["message"] or "",
            }
            for r in rows
        ],
    )
    numbers = [r["version"] for r in rows]  # newest first
    if len(numbers) > 1:
        _compare(ed, numbers)
    pick = st.selectbox("Version", numbers, key=f"bld_v_pick_{ed.base.id}")
    left, right = st.columns(2)
    if left.button("Open on the canvas", key="bld_v_open"):
        editor.load(ed.base.id, pick)
        st.rerun()
    if pick != numbers[0] and right.button(
        f"Restore v{pick} as a new version", key="bld_v_restore"
    ):
        _restore(ed, pick, numbers[0])
        st.rerun()


def _compare(ed: editor.Editor, numbers: list[int]) -> None:
    """Two version pickers and what changed from the first to the second."""
    st.markdown("**Compare versions**")
    left, right = st.columns(2)
    before = left.selectbox("From", numbers, index=1, key=f"bld_v_from_{ed.base.id}")
    after = right.selectbox("To", numbers, index=0, key=f"bld_v_to_{ed.base.id}")
    store = resources.engine().store
    try:
        diff = queries.catalog.workflow_diff(store, current_user(), ed.base.id, before, after)
    except LoopgateError as exc:
        st.error(str(exc))
        return
    st.caption(f"v{before} → v{after}: {diff.summary()}")
    if diff.lines():
        st.code("\n".join(diff.lines()), language="diff")


def _restore(ed: editor.Editor, version: int, newest: int) -> None:
    """Save ``version``'s content again as the newest version, and open it."""
    store = resources.engine().store
    user = current_user()
    try:
        row = queries.catalog.get_workflow(store, user, ed.base.id, version)
        spec = WorkflowSpec.model_validate(row["spec"])
        saved = resources.engine().save_workflow(
            spec, by=user["name"] if user else None, message=f"restored from v{version}"
        )
    except LoopgateError as exc:
        ed.say("error", str(exc))
        return
    editor.load(ed.base.id, saved.version)
    if saved.version > newest:
        editor.editor().say("success", f"Restored v{version} as v{saved.version}.")
    else:
        editor.editor().say("info", f"v{saved.version} already has v{version}'s content.")
