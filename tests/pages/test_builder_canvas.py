"""The Builder's canvas controls (issue 17 item 1): its height, the minimap and where the
inspector goes reach the streamlit-flow component, through Streamlit's AppTest."""

from __future__ import annotations

import json
from typing import Any

from streamlit.testing.v1 import AppTest

from builder.design import panels
from tests.pages.test_app_pages import builder


def canvas_args(at: AppTest) -> dict[str, Any]:
    """The arguments the page passed to the canvas component on its last run."""
    (canvas,) = at.get("component_instance")
    return json.loads(canvas.proto.json_args)


def test_defaults_fit_the_window_readable_and_without_minimap(seeded: None) -> None:
    at = builder()
    args = canvas_args(at)
    # "Fit window": the component fills its frame, which the page's CSS sizes to the window
    assert at.selectbox(key="bld_canvas_height").value == panels.DEFAULT_HEIGHT == "Fit window"
    assert args["height"] == "100vh"
    css = [h.proto.body for h in at.get("html") if "calc(100vh" in h.proto.body]
    assert css and panels.CANVAS_IFRAME in css[0] and f"{panels.FIT_MIN_PX}px" in css[0]
    assert args["showMiniMap"] is False
    assert args["fitView"] is True
    assert args["minZoom"] == panels.MIN_ZOOM and 14 * panels.MIN_ZOOM >= 11  # readable text
    # the palette is the toolbar's "Add node" menu, not a column beside the canvas
    assert [b.key for b in at.button if b.key and b.key.startswith("pal_")]
    assert not [b for b in at.sidebar.button if b.key and b.key.startswith("pal_")]


def test_height_choice_and_minimap_toggle_reach_the_component(seeded: None) -> None:
    at = builder()
    at.selectbox(key="bld_canvas_height").select("Small").run()
    at.toggle(key="bld_minimap").set_value(True).run()
    assert not at.exception, at.exception
    args = canvas_args(at)
    assert args["height"] == panels.CANVAS_HEIGHTS["Small"] == 460
    assert not [h for h in at.get("html") if "calc(100vh" in h.proto.body]  # no fitting CSS
    assert args["showMiniMap"] is True
    at.toggle(key="bld_minimap").set_value(False).run()
    assert canvas_args(at)["showMiniMap"] is False


def test_inspector_beside_the_canvas_keeps_editing_working(seeded: None) -> None:
    at = builder()
    at.toggle(key="bld_inspector_beside").set_value(True).run()
    node = at.session_state["bld"].state.nodes[1].id
    at.session_state["bld"].selected = node
    at.run()
    assert not at.exception, at.exception
    ids = [t.value for t in at.text_input if t.label == "Node id"]
    assert ids == [node]
    # the inspector sits in the narrow right column, the canvas in the wide left one
    beside = [c for c in at.columns if any(t.label == "Node id" for t in c.text_input)]
    assert beside and beside[-1].weight < 0.5
