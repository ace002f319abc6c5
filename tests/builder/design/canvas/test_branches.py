"""Which branches a canvas node has, and which edges still need a branch."""

from __future__ import annotations

from streamlit_flow.elements import StreamlitFlowEdge

from builder.design import canvas
from builder.design.canvas import (
    add_node,
    branches_for,
    new_edges_without_branch,
    spec_to_state,
    state_to_spec,
    update_node,
)
from builder.design.canvas.branches import default_branches, edge_branch, strict_branches
from runtime.nodes import node_types
from runtime.spec import WorkflowSpec
from tests.builder.design.canvas.support import node_at


def test_branches_for(small: WorkflowSpec) -> None:
    state = spec_to_state(small)
    assert branches_for(state, "big") == ["true", "false"]
    assert branches_for(state, "ok") == ["approved", "rejected"]
    assert branches_for(state, "done") == []
    assert branches_for(state, "ghost") == []
    broken = update_node(state, "ok", params={"deadline": "soon"})
    assert branches_for(broken, "ok") == ["approved", "rejected"]  # the type's defaults
    node_at(broken, "ok").data[canvas.K_TYPE] = "teleport"
    assert branches_for(broken, "ok") == []


def test_unlabelled_edge_from_a_single_branch_node_needs_nothing(small: WorkflowSpec) -> None:
    state, audit = add_node(spec_to_state(small), small, "audit")
    state.edges.append(StreamlitFlowEdge(f"st-flow-edge_{audit}-done", audit, "done"))
    assert new_edges_without_branch(state) == []
    spec = state_to_spec(state, small)
    assert [e.branch for e in spec.edges if e.source == audit] == [None]


def test_strict_branches_need_a_known_type_and_valid_params() -> None:
    assert strict_branches("condition", {"when": "true"}) == ["true", "false"]
    assert strict_branches("condition", {}) is None
    assert strict_branches("teleport", {}) is None
    assert default_branches(node_types()["switch"]) == ["case_1", "default"]


def test_edge_branch_reads_the_label_against_the_source(small: WorkflowSpec) -> None:
    state = spec_to_state(small)
    big = node_at(state, "big")
    edge = StreamlitFlowEdge("e", "big", "ok", label=" true ")
    assert edge_branch(edge, big) == "true"
    assert edge_branch(StreamlitFlowEdge("e", "big", "ok", label="yes"), big) is None
    assert edge_branch(StreamlitFlowEdge("e", "big", "ok", label=""), big) is None
    assert edge_branch(StreamlitFlowEdge("e", "x", "ok", label="yes"), None) == "yes"
    big.data[canvas.K_PARAMS] = {}  # invalid params: the label cannot be judged, so it stays
    assert edge_branch(StreamlitFlowEdge("e", "big", "ok", label="yes"), big) == "yes"
