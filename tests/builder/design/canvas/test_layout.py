"""The layered layout, auto-layout, and where a new node goes."""

from __future__ import annotations

from builder.design import canvas
from builder.design.canvas import auto_layout, spec_to_state
from runtime.spec import WorkflowSpec


def test_positions_are_kept_and_layout_is_layered(small: WorkflowSpec) -> None:
    state = spec_to_state(small)
    pos = {n.id: (n.position["x"], n.position["y"]) for n in state.nodes}
    assert pos["start"] == (0.0, 0.0)
    assert pos["big"][0] == canvas.LAYER_GAP
    assert pos["ok"][0] == pos["done"][0] == 2 * canvas.LAYER_GAP  # both at BFS depth 2
    assert len(set(pos.values())) == len(pos)
    moved = small.model_copy(
        update={"nodes": [n.model_copy(update={"position": (7.0, 9.0)}) for n in small.nodes]}
    )
    assert {(n.position["x"], n.position["y"]) for n in spec_to_state(moved).nodes} == {(7, 9)}
    again = spec_to_state(small)
    assert [n.position for n in again.nodes] == [n.position for n in state.nodes]


def test_auto_layout(small: WorkflowSpec) -> None:
    state = spec_to_state(small)
    for node in state.nodes:
        node.position = {"x": 999.0, "y": 999.0}
    laid = auto_layout(state)
    assert laid.timestamp > state.timestamp
    assert [n.position for n in laid.nodes] == [n.position for n in spec_to_state(small).nodes]
