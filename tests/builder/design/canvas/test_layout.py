"""The layered layout, auto-layout, and where a new node goes."""

from __future__ import annotations

from streamlit_flow.elements import StreamlitFlowNode
from streamlit_flow.state import StreamlitFlowState

from builder.design.canvas import auto_layout, spec_to_state
from builder.design.canvas.card import NODE_WIDTH
from builder.design.canvas.layout import (
    LAYER_GAP,
    MIN_LAYER_SPACE,
    ROW_GAP,
    free_position,
    label_room,
    layered_positions,
)
from runtime.spec import WorkflowSpec
from tests.builder.design.canvas.support import node_at


def test_positions_are_kept_and_layout_is_layered(small: WorkflowSpec) -> None:
    state = spec_to_state(small)
    pos = {n.id: (n.position["x"], n.position["y"]) for n in state.nodes}
    assert pos["start"] == (0.0, 0.0)
    assert pos["big"][0] >= NODE_WIDTH + MIN_LAYER_SPACE
    assert pos["ok"][0] == pos["done"][0] >= pos["big"][0] + NODE_WIDTH + MIN_LAYER_SPACE
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


def test_layered_positions_survive_cycles_and_islands() -> None:
    pos = layered_positions(
        ["start", "a", "b", "island", "self"],
        [("start", "a"), ("a", "b"), ("b", "a"), ("self", "self"), ("a", "ghost")],
        "start",
    )
    assert set(pos) == {"start", "a", "b", "island", "self"}
    step = NODE_WIDTH + MIN_LAYER_SPACE  # no labels: the narrowest room between layers
    assert (pos["start"][0], pos["a"][0], pos["b"][0]) == (0.0, step, 2 * step)
    # nodes the trigger does not reach start layers of their own, centred in their column
    assert pos["island"][0] == pos["self"][0] == 0.0
    assert sorted(y for x, y in pos.values() if x == 0.0) == [-ROW_GAP, 0.0, ROW_GAP]


def test_layered_positions_without_a_trigger_start_at_the_sources() -> None:
    pos = layered_positions(["b", "a"], [("a", "b")], None)
    assert pos == {"a": (0.0, 0.0), "b": (NODE_WIDTH + MIN_LAYER_SPACE, 0.0)}


def test_layers_leave_room_for_the_longest_branch_label_between_them() -> None:
    ids = ["t", "sw", "x", "y", "end"]
    pairs = [("t", "sw"), ("sw", "x"), ("sw", "y"), ("x", "end"), ("y", "end")]
    labels = {("sw", "x"): "billing_dispute_long", ("sw", "y"): "ok"}
    pos = layered_positions(ids, pairs, "t", labels)
    gap = pos["x"][0] - (pos["sw"][0] + NODE_WIDTH)  # the labels sit halfway in this gap
    assert gap == label_room("billing_dispute_long") > label_room("ok") >= MIN_LAYER_SPACE
    assert gap >= len("billing_dispute_long") * 6  # ~6 px a character of a bold 10-12 px label
    assert pos["end"][0] - (pos["x"][0] + NODE_WIDTH) == MIN_LAYER_SPACE  # unlabelled: narrow


def test_free_position(small: WorkflowSpec) -> None:
    empty = StreamlitFlowState([], [])
    assert free_position(empty, None) == (0.0, 0.0)
    state = spec_to_state(small)
    big = node_at(state, "big")
    bx, by = big.position["x"], big.position["y"]
    x, y = free_position(state, "big")
    assert (x, y) == (bx + LAYER_GAP, by)  # right of big, between ok and done
    assert all(
        abs(n.position["x"] - x) >= LAYER_GAP / 2 or abs(n.position["y"] - y) >= ROW_GAP / 2
        for n in state.nodes
    )
    lowest = max(n.position["y"] for n in state.nodes)
    assert free_position(state, None)[1] == lowest + ROW_GAP
    assert free_position(state, "ghost") == free_position(state, None)


def test_free_position_moves_down_until_free() -> None:
    nodes = [
        StreamlitFlowNode(i, (x, y), {}, style={})
        for i, (x, y) in {"a": (0.0, 0.0), "b": (LAYER_GAP, 0.0), "c": (LAYER_GAP, 100.0)}.items()
    ]
    state = StreamlitFlowState(nodes, [])
    assert free_position(state, "a") == (LAYER_GAP, 2 * ROW_GAP)
