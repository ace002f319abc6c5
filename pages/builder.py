"""Builder: draw, configure, validate, version and test-run workflows."""

import streamlit as st

from builder.design import batch_panel, editor, inspector, panels, toolbar, versions
from builder.design.test_panel import test_run_panel
from builder.shell.session import require_user

user = require_user("designer")
if not st.session_state.get("bld_sidebar_folded"):  # the canvas gets the window's width;
    st.session_state["bld_sidebar_folded"] = True  # the » button brings the sidebar back
    st.set_page_config(initial_sidebar_state="collapsed")
ed = editor.editor()
spec, problems = ed.spec()

view = toolbar.toolbar(ed, spec, user)
if view.inspector_beside:
    middle, right = st.columns([3, 1])
else:
    middle, right = st.container(), st.container()
with middle:
    panels.canvas_panel(ed, problems, view)
with right:
    inspector.inspector(ed)
    panels.problems_panel(problems)

tab_test, tab_items, tab_versions = st.tabs(["Test run", "Run items", "Versions"])
with tab_test, panels.errors_shown():
    test_run_panel(ed, spec, problems)
with tab_items, panels.errors_shown():
    batch_panel.run_items_panel(ed, user)
with tab_versions:
    versions.versions_panel(ed)
