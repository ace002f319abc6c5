"""The Builder's live validation shows the design example's unconnected error branches as
warnings (their own style), not errors, and its edges without a branch as ``next``."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from builder.design.canvas.state import K_PROBLEMS
from builder.shell import resources
from runtime import loads_yaml
from tests.runtime.test_design_example import DESIGN_EXAMPLE, ERROR_WARNING

ROOT = Path(__file__).resolve().parents[2]


def test_the_design_example_opens_with_warnings_only(seeded: None) -> None:
    # The designer saves the design's sketch as a new version of the refund workflow.
    saved = resources.engine().save_workflow(loads_yaml(DESIGN_EXAMPLE), by="dev")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.session_state["lg_user"] = "dev"
    at.session_state["builder_open"] = "refund-requests"
    at.run()
    at.switch_page("pages/builder.py").run()
    assert not at.exception, at.exception
    ed = at.session_state["bld"]
    assert (ed.base.id, ed.version, ed.status) == ("refund-requests", saved.version, "published")

    # The problems list: three warnings in the warning style, no error.
    assert any("(0 error(s), 3 warning(s))" in m.value for m in at.markdown)
    shown = [w.value for w in at.warning]
    assert f"warning: node intent: {ERROR_WARNING}" in shown
    assert f"warning: node refund: {ERROR_WARNING}" in shown
    assert not [e.value for e in at.error if "node " in e.value]
    assert not [w for w in shown if w.startswith("New connection")]  # nothing to label

    # On the canvas: the edges say they are next; the nodes carry warnings, not errors.
    labels = {(e.source, e.target): e.label for e in ed.state.edges}
    assert labels[("intent", "unsure")] == "next" and labels[("refund", "done")] == "next"
    cards = {n.id: n for n in ed.state.nodes}
    for node_id in ("intent", "refund"):
        marks = cards[node_id].data[K_PROBLEMS]
        assert marks and {p["severity"] for p in marks} == {"warning"}
        assert "dashed" in cards[node_id].style["border"]
    assert cards["unsure"].data[K_PROBLEMS] == []
