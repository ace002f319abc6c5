"""The Builder's header: the workflow's name and version, add a node, undo and redo, open or
new, save, YAML in and out, and the canvas's view options."""

from __future__ import annotations

from typing import Any

import streamlit as st

from builder.design import editor, panels
from builder.shell import resources
from builder.shell.session import current_user
from runtime import WorkflowSpec, queries


def toolbar(
    ed: editor.Editor, spec: WorkflowSpec | None, user: dict[str, Any]
) -> panels.CanvasView:
    """The header row (name and version, add a node, undo and redo, open or new, save,
    YAML, the canvas's view), then the message the last action left.

    Args:
        ed: this session's editor.
        spec: the workflow on the canvas, or None when it does not parse.
        user: the signed-in user (saves are theirs).

    Returns:
        How the canvas is to be shown (the "View" menu's choices).
    """
    head = st.columns([3.2, 1.3, 0.9, 0.9, 1.3, 1.4, 0.9, 1], vertical_alignment="center")
    head[0].markdown(
        f"#### {ed.base.name}\n`{ed.base.id}` · "
        + (f"v{ed.version} ({ed.status})" if ed.version else "not saved")
    )
    with head[1].popover("Add node", icon=":material/add:", width="stretch"):
        panels.palette(ed)
    _undo_redo(ed, head[2], head[3])
    with head[4].popover("Open / new", width="stretch"):
        _open_or_new()
    with head[5].popover("Save version", width="stretch"):
        msg = st.text_input("What changed?", key="bld_save_msg")
        if st.button("Save", key="bld_save_go", type="primary"):
            editor.save_version(msg, user["name"])
            st.rerun()
    with head[6].popover("YAML", width="stretch"):
        _yaml(spec)
    with head[7].popover("View", icon=":material/tune:", width="stretch"):
        view = panels.view_controls()
    flash = ed.flash_now(spec.digest() if spec else None)
    if flash:
        getattr(st, flash[0])(flash[1])
    return view


def _undo_redo(ed: editor.Editor, undo_col: Any, redo_col: Any) -> None:
    """Undo and Redo of canvas edits, each disabled when there is nothing to take back."""
    if undo_col.button(
        "Undo",
        key="bld_undo",
        icon=":material/undo:",
        disabled=not ed.undo_stack,
        help=f"Take back the last canvas edit ({len(ed.undo_stack)} kept)",
        width="stretch",
    ):
        ed.undo()
        st.rerun()
    if redo_col.button(
        "Redo",
        key="bld_redo",
        icon=":material/redo:",
        disabled=not ed.redo_stack,
        help="Make the last undone edit again",
        width="stretch",
    ):
        ed.redo()
        st.rerun()


def _open_or_new() -> None:
    store = resources.engine().store
    ids = [w["id"] for w in queries.catalog.list_workflows(store, current_user())]
    pick = st.selectbox("Workflow", ids, key="bld_open_pick") if ids else None
    if pick and st.button("Open workflow", key="bld_open_go"):
        editor.load(pick)
        st.rerun()
    new_id = st.text_input("New workflow id", key="bld_new_id", placeholder="e.g. invoice-check")
    if st.button("Create", key="bld_new_go"):
        if not new_id.strip():
            st.warning("Type an id for the new workflow first, e.g. invoice-check.")
            return
        err = editor.new_workflow(new_id.strip(), new_id.strip().replace("-", " ").title())
        st.warning(err) if err else st.rerun()


def _yaml(spec: WorkflowSpec | None) -> None:
    if spec is not None:
        st.download_button(
            "Export YAML", spec.to_yaml(), file_name=f"{spec.id}.yaml", key="bld_export"
        )
    upload = st.file_uploader("Import YAML", type=["yaml", "yml"], key="bld_import")
    if upload is not None and st.button("Load into canvas", key="bld_import_go"):
        bad = editor.import_yaml(upload.getvalue().decode("utf-8", errors="replace"))
        for line in bad:
            st.error(line)
        if not bad:
            st.rerun()
