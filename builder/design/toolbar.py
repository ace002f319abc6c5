"""The Builder's header: the workflow's name and version, open or new, save, YAML in and out."""

from __future__ import annotations

from typing import Any

import streamlit as st

from builder.design import editor
from builder.shell import resources
from builder.shell.session import current_user
from runtime import WorkflowSpec, queries


def toolbar(ed: editor.Editor, spec: WorkflowSpec | None, user: dict[str, Any]) -> None:
    """The header row, then the message the last action left (shown once).

    Args:
        ed: this session's editor.
        spec: the workflow on the canvas, or None when it does not parse.
        user: the signed-in user (saves are theirs).
    """
    head = st.columns([4, 2, 2, 2])
    head[0].markdown(
        f"### {ed.base.name}\n`{ed.base.id}` · "
        + (f"v{ed.version} ({ed.status})" if ed.version else "not saved")
    )
    with head[1].popover("Open / new", width="stretch"):
        _open_or_new()
    with head[2].popover("Save version", width="stretch"):
        msg = st.text_input("What changed?", key="bld_save_msg")
        if st.button("Save", key="bld_save_go", type="primary"):
            editor.save_version(msg, user["name"])
            st.rerun()
    with head[3].popover("YAML", width="stretch"):
        _yaml(spec)
    flash = ed.flash_now(spec.digest() if spec else None)
    if flash:
        getattr(st, flash[0])(flash[1])


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
