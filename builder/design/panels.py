"""The Builder's panels: palette, the canvas with its connect tools, problems."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import streamlit as st
from streamlit_flow import streamlit_flow

from builder.design import canvas, editor
from runtime import LoopgateError, Problem

FAMILY_TITLES = {
    "flow": "Flow",
    "ai": "AI",
    "checkpoint": "Checkpoints (human in the loop)",
    "action": "Actions",
}


# the canvas height choices: "Fit window" follows the browser window (CSS, see
# :func:`fit_window_css`); the others are fixed pixels
FIT_WINDOW = "Fit window"
CANVAS_HEIGHTS: dict[str, int | None] = {
    FIT_WINDOW: None,
    "Small": 460,
    "Medium": 620,
    "Tall": 780,
    "Very tall": 980,
}
DEFAULT_HEIGHT = FIT_WINDOW
FIT_ABOVE_PX = 180  # what sits above the canvas: the app's header and the Builder's toolbar
FIT_MIN_PX = 420  # a very low window still gets a canvas this high (the page scrolls)
MIN_ZOOM = 0.8  # fit-view stops here: 14 px node text shows at >= 11 px; pan beyond it
CANVAS_IFRAME = "iframe[title='streamlit_flow.streamlit_flow']"


@dataclass(frozen=True)
class CanvasView:
    """How the designer wants the canvas shown: its height, the minimap, the inspector.

    Attributes:
        height: the canvas height in pixels, or None to fill the window below the toolbar.
        minimap: show the minimap.
        inspector_beside: the inspector in a column right of the canvas (else below it).
    """

    height: int | None
    minimap: bool
    inspector_beside: bool

    def component_height(self) -> int | str:
        """The height handed to the component: pixels, or its whole frame (which the page's
        CSS sizes to the window) for "Fit window"."""
        return self.height if self.height is not None else "100vh"


def page_css(view: CanvasView) -> str:
    """The Builder page's CSS: narrow side margins (the canvas gets the window's width) and,
    for "Fit window", the canvas's frame sized to the window below the toolbar."""
    css = "[data-testid='stMainBlockContainer'] {padding: 3.5rem 1rem 2rem 1rem;}"
    if view.height is None:
        css += (
            f"{CANVAS_IFRAME} {{height: max({FIT_MIN_PX}px, "
            f"calc(100vh - {FIT_ABOVE_PX}px)) !important;}}"
        )
    return f"<style>{css}</style>"


def view_controls() -> CanvasView:
    """The canvas's view options (the toolbar's "View" menu): height, minimap, inspector."""
    size = st.selectbox(
        "Canvas height",
        list(CANVAS_HEIGHTS),
        index=list(CANVAS_HEIGHTS).index(DEFAULT_HEIGHT),
        key="bld_canvas_height",
        help="Fit window: the canvas fills the window below the toolbar.",
    )
    minimap = st.toggle("Minimap", value=False, key="bld_minimap")
    beside = st.toggle(
        "Inspector beside the canvas",
        value=False,
        key="bld_inspector_beside",
        help="Off: the inspector is below the canvas, which then takes the full width.",
    )
    return CanvasView(CANVAS_HEIGHTS[size], bool(minimap), bool(beside))


def palette(ed: editor.Editor) -> None:
    """Every registered node type by family; a click adds one to the canvas (after the
    selected node, which the new one then becomes)."""
    for family, types in canvas.palette().items():
        st.markdown(f"**{FAMILY_TITLES.get(family, family.title())}**")
        cols = st.columns(2)
        for i, (type_name, title, description) in enumerate(types):
            if cols[i % 2].button(title, key=f"pal_{type_name}", help=description, width="stretch"):
                state, node_id = canvas.add_node(ed.state, ed.base, type_name, after=ed.selected)
                ed.replace(state)
                ed.selected = node_id
                st.rerun()


def canvas_panel(
    ed: editor.Editor, problems: list[Problem], view: CanvasView | None = None
) -> None:
    """The canvas with problems, the test path and the selection on it, and its tools.

    Args:
        ed: this session's editor.
        problems: the compiler's problems, shown on their nodes.
        view: height and minimap (see :func:`view_controls`); None for the defaults.
    """
    view = view or CanvasView(CANVAS_HEIGHTS[DEFAULT_HEIGHT], False, False)
    ed.state = canvas.decorate(ed.state, problems=problems, highlight=ed.path, selected=ed.selected)
    st.html(page_css(view))
    resend = ed.accept(
        streamlit_flow(
            "bld_canvas",
            ed.state,
            height=view.component_height(),
            fit_view=True,
            show_minimap=view.minimap,
            allow_new_edges=True,
            get_node_on_click=True,
            get_edge_on_click=True,
            enable_node_menu=False,
            min_zoom=MIN_ZOOM,
            hide_watermark=True,
        )
    )
    if resend:  # the browser shows an older canvas than this session's: send it again
        st.rerun()
    unlabelled_edges(ed)
    with st.expander("Connect a branch", expanded=False):
        connect_bar(ed)
    if st.button("Auto-layout", key="bld_layout"):
        ed.replace(canvas.auto_layout(ed.state), keep_path=True)
        st.rerun()


def unlabelled_edges(ed: editor.Editor) -> None:
    """Edges drawn in the browser carry no branch yet: ask which one each is."""
    for edge_id in canvas.new_edges_without_branch(ed.state):
        edge = next(e for e in ed.state.edges if e.id == edge_id)
        branches = canvas.branches_for(ed.state, edge.source)
        with st.container(border=True):
            st.warning(
                f"New connection {edge.source} → {edge.target}: which branch of "
                f"{edge.source} is it?"
            )
            cols = st.columns([3, 1, 1])
            branch = cols[0].selectbox(
                "Branch", branches, key=f"bld_nb_{edge_id}", label_visibility="collapsed"
            )
            if cols[1].button("Set", key=f"bld_ns_{edge_id}", type="primary"):
                state = canvas.delete_edge(ed.state, edge_id)
                ed.replace(canvas.connect(state, edge.source, edge.target, branch))
                st.rerun()
            if cols[2].button("Remove", key=f"bld_nr_{edge_id}"):
                ed.replace(canvas.delete_edge(ed.state, edge_id))
                st.rerun()


def connect_bar(ed: editor.Editor) -> None:
    """Connect a node's branch to another node (the browser allows one edge per pair)."""
    ids = [n.id for n in ed.state.nodes]
    cols = st.columns([3, 2, 3, 2])
    source = cols[0].selectbox("From", ids, key=f"bld_c_from_{ed.base.id}")
    branches = canvas.branches_for(ed.state, source) if source else []
    branch = cols[1].selectbox(
        "Branch", branches or ["(none)"], key=f"bld_c_branch_{ed.base.id}_{source}"
    )
    target = cols[2].selectbox("To", ids, key=f"bld_c_to_{ed.base.id}")
    cols[3].markdown("&nbsp;")
    if cols[3].button("Connect", key="bld_c_go", disabled=not branches):
        try:
            ed.replace(canvas.connect(ed.state, source, target, branch))
        except ValueError as exc:
            ed.say("error", str(exc))
        st.rerun()


def problems_panel(problems: list[Problem]) -> None:
    """Every problem of the workflow on the canvas, errors first; or that there is none."""
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity == "warning"]
    if not problems:
        st.success("No problems: this workflow can be published and run.")
        return
    st.markdown(f"**Problems** ({len(errors)} error(s), {len(warnings)} warning(s))")
    for p in errors:
        st.error(str(p), icon=":material/error:")
    for p in warnings:
        st.warning(str(p), icon=":material/warning:")


@contextlib.contextmanager
def errors_shown() -> Iterator[None]:
    """Show a LoopgateError raised inside the block as an error message, and carry on."""
    try:
        yield
    except LoopgateError as exc:
        st.error(str(exc))
