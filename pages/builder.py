"""Builder: draw, configure, validate, version and test-run workflows."""

import streamlit as st
from streamlit_flow import streamlit_flow

from builder import batch_panel, canvas, editor, panels
from builder.session import require_user
from builder.test_panel import test_run_panel
from runtime import LoopgateError

user = require_user("designer")
ed = editor.editor()
spec, problems = ed.spec()
errors = [p for p in problems if p.severity == "error"]

head = st.columns([4, 2, 2, 2])
head[0].markdown(
    f"### {ed.base.name}\n`{ed.base.id}` · "
    + (f"v{ed.version} ({ed.status})" if ed.version else "not saved")
)
with head[1].popover("Open / new", width="stretch"):
    ids = [w["id"] for w in editor.resources.engine().store.list_workflows()]
    pick = st.selectbox("Workflow", ids, key="bld_open_pick") if ids else None
    if pick and st.button("Open workflow", key="bld_open_go"):
        editor.load(pick)
        st.rerun()
    new_id = st.text_input("New workflow id", key="bld_new_id", placeholder="e.g. invoice-check")
    if st.button("Create", key="bld_new_go") and new_id:
        err = editor.new_workflow(new_id.strip(), new_id.strip().replace("-", " ").title())
        st.error(err) if err else st.rerun()
with head[2].popover("Save version", width="stretch"):
    msg = st.text_input("What changed?", key="bld_save_msg")
    if st.button("Save", key="bld_save_go", type="primary"):
        editor.save_version(msg, user["name"])
        st.rerun()
with head[3].popover("YAML", width="stretch"):
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
if ed.flash:
    getattr(st, ed.flash[0])(ed.flash[1])
    ed.flash = None

left, middle, right = st.columns([2, 7, 3])
with left:
    panels.palette(ed)
with middle:
    ed.state = canvas.decorate(ed.state, problems=problems, highlight=ed.path, selected=ed.selected)
    ed.accept(
        streamlit_flow(
            "bld_canvas",
            ed.state,
            height=560,
            fit_view=True,
            show_minimap=True,
            allow_new_edges=True,
            get_node_on_click=True,
            get_edge_on_click=True,
            enable_node_menu=False,
            min_zoom=0.2,
            hide_watermark=True,
        )
    )
    panels.unlabelled_edges(ed)
    with st.expander("Connect a branch", expanded=False):
        panels.connect_bar(ed)
    if st.button("Auto-layout", key="bld_layout"):
        ed.replace(canvas.auto_layout(ed.state), keep_path=True)
        st.rerun()
with right:
    node_ids = {n.id for n in ed.state.nodes}
    if ed.selected in node_ids:
        panels.node_inspector(ed, ed.selected)
    elif ed.selected and any(e.id == ed.selected for e in ed.state.edges):
        panels.edge_inspector(ed, ed.selected)
    else:
        st.caption("Select a node or an edge on the canvas to edit it.")
    panels.problems_panel(problems)

tab_test, tab_items, tab_versions = st.tabs(["Test run", "Run items", "Versions"])
with tab_test:
    try:
        test_run_panel(ed, spec, runnable=not errors)
    except LoopgateError as exc:
        st.error(str(exc))
with tab_items:
    try:
        batch_panel.run_items_panel(ed, user)
    except LoopgateError as exc:
        st.error(str(exc))
with tab_versions:
    panels.versions_panel(ed)
