"""Adding, deleting, connecting and changing nodes and edges on a canvas state."""

from __future__ import annotations

import pytest
from streamlit_flow.elements import StreamlitFlowEdge

from builder.design import canvas
from builder.design.canvas import (
    add_node,
    branches_for,
    connect,
    delete_edge,
    delete_node,
    edge_id,
    new_edges_without_branch,
    spec_to_state,
    state_to_spec,
    update_node,
)
from runtime.compiler import check
from runtime.nodes import node_types
from runtime.spec import WorkflowSpec
from tests.builder.design.canvas.support import node_at, snapshot


def test_add_node_gives_unique_ids_and_valid_params(small: WorkflowSpec) -> None:
    original = spec_to_state(small)
    before = snapshot(original)
    state = original
    for name in node_types():
        state, node_id = add_node(state, small, name)
        assert node_id == f"{name}_1"
    state, second = add_node(state, small, "approval")
    assert second == "approval_2"
    assert snapshot(original) == before
    spec = state_to_spec(state, small)
    for node in spec.nodes:
        ntype = node_types()[node.type]
        ntype.Params.model_validate(node.params)
    positions = [(n.position["x"], n.position["y"]) for n in state.nodes]
    assert len(set(positions)) == len(positions)


def test_add_node_right_of_the_selected_one(small: WorkflowSpec) -> None:
    state = spec_to_state(small, selected="big")
    new, node_id = add_node(state, small, "confidence_gate")
    node = node_at(new, node_id)
    big = node_at(new, "big")
    assert node.position["x"] == big.position["x"] + canvas.LAYER_GAP
    assert node.data[canvas.K_PARAMS] == {"of": "big", "threshold": 0.8}
    assert node.position not in [n.position for n in new.nodes if n.id != node_id]
    bottom, other = add_node(spec_to_state(small), small, "audit")
    ys = [n.position["y"] for n in bottom.nodes if n.id != other]
    assert node_at(bottom, other).position["y"] > max(ys)


def test_add_node_refuses_bad_ids_and_types(small: WorkflowSpec) -> None:
    state = spec_to_state(small)
    with pytest.raises(ValueError, match="already used"):
        add_node(state, small, "approval", "ok")
    with pytest.raises(ValueError, match="not valid"):
        add_node(state, small, "approval", "Not OK")
    with pytest.raises(ValueError, match="unknown node type"):
        add_node(state, small, "teleport")
    state, node_id = add_node(state, small, "approval", "second_look")
    assert node_id == "second_look"


def test_delete_node_removes_its_edges(small: WorkflowSpec) -> None:
    state = spec_to_state(small, selected="ok")
    new = delete_node(state, "ok")
    assert "ok" not in [n.id for n in new.nodes]
    assert all("ok" not in (e.source, e.target) for e in new.edges)
    assert new.selected_id is None
    assert len(state.nodes) == 5  # input untouched
    assert delete_node(new, "ok") is new


def test_delete_edge(small: WorkflowSpec) -> None:
    state = spec_to_state(small)
    gone = edge_id("big", "false", "done")
    new = delete_edge(state, gone)
    assert gone not in [e.id for e in new.edges]
    assert len(new.edges) == len(state.edges) - 1
    assert delete_edge(new, gone) is new


def test_connect_replaces_the_same_branch(small: WorkflowSpec) -> None:
    state = spec_to_state(small)
    new = connect(state, "big", "wipe", "false")
    from_big = [(e.label, e.target) for e in new.edges if e.source == "big"]
    assert from_big == [("true", "ok"), ("false", "wipe")]
    spec = state_to_spec(new, small)
    assert {(e.branch, e.target) for e in spec.edges if e.source == "big"} == {
        ("true", "ok"),
        ("false", "wipe"),
    }
    # a single-branch source: None and its only branch are the same branch
    added, audit = add_node(new, small, "audit")
    linked = connect(connect(added, audit, "done", None), audit, "ok", "next")
    assert [(e.label, e.target) for e in linked.edges if e.source == audit] == [("next", "ok")]


def test_connect_takes_over_an_edge_drawn_in_the_browser(small: WorkflowSpec) -> None:
    state = spec_to_state(small)
    state.edges.append(StreamlitFlowEdge("st-flow-edge_big-wipe", "big", "wipe"))
    assert new_edges_without_branch(state) == ["st-flow-edge_big-wipe"]
    new = connect(state, "big", "wipe", "true")
    assert "st-flow-edge_big-wipe" not in [e.id for e in new.edges]
    assert new_edges_without_branch(new) == []
    assert [(e.label, e.target) for e in new.edges if e.source == "big"] == [
        ("true", "wipe"),
        ("false", "done"),
    ]


def test_connect_refuses_what_the_compiler_would_reject(small: WorkflowSpec) -> None:
    state = spec_to_state(small)
    with pytest.raises(ValueError, match="no branch 'maybe'"):
        connect(state, "big", "ok", "maybe")
    with pytest.raises(ValueError, match="needs a branch"):
        connect(state, "big", "ok", None)
    with pytest.raises(ValueError, match="nothing can leave it"):
        connect(state, "done", "ok", None)
    with pytest.raises(ValueError, match="no node"):
        connect(state, "big", "ghost", "true")


def test_update_node_renames_and_rewrites_edges(small: WorkflowSpec) -> None:
    state = spec_to_state(small, selected="ok")
    new = update_node(state, "ok", new_id="manager_ok", name="Manager", sensitive=False)
    assert new.selected_id == "manager_ok"
    node = node_at(new, "manager_ok")
    assert node.data[canvas.K_ID] == "manager_ok"
    assert "**Manager**" in node.data["content"]
    assert edge_id("big", "true", "manager_ok") in [e.id for e in new.edges]
    assert all("ok" not in (e.source, e.target) for e in new.edges)
    spec = state_to_spec(new, small)
    assert spec.node("manager_ok").name == "Manager"
    assert check(spec)[0] is not None
    cleared = update_node(new, "manager_ok", name="")
    assert node_at(cleared, "manager_ok").data[canvas.K_NAME] is None
    with pytest.raises(ValueError, match="already used"):
        update_node(state, "ok", new_id="big")
    with pytest.raises(KeyError):
        update_node(state, "ghost", name="x")


def test_update_params_changes_branches(small: WorkflowSpec) -> None:
    state, switch = add_node(spec_to_state(small), small, "switch")
    assert branches_for(state, switch) == ["case_1", "default"]
    state = connect(state, switch, "done", "case_1")
    state = update_node(state, switch, params={"value": "{{ item.x }}", "cases": ["a", "b"]})
    assert branches_for(state, switch) == ["a", "b", "default"]
    stale = [e.id for e in state.edges if e.source == switch]
    assert new_edges_without_branch(state) == stale
    state = update_node(state, "wipe", sensitive=False)
    assert "🔴" not in node_at(state, "wipe").data["content"]
