"""Spec <-> canvas state: round trips, workflow fields, what the canvas cannot say, decorate."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit_flow.elements import StreamlitFlowEdge, StreamlitFlowNode

from builder.design.canvas import decorate, spec_to_state, state_to_spec
from runtime.compiler import check
from runtime.errors import Problem, SpecError
from runtime.spec import WorkflowSpec, load_yaml
from tests.builder.design.canvas.support import EXAMPLES, node_at, strip_positions, through_browser


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_round_trips(path: Path) -> None:
    spec = load_yaml(path)
    once = state_to_spec(spec_to_state(spec), spec)
    assert strip_positions(once) == strip_positions(spec)
    assert all(n.position is not None for n in once.nodes)
    twice = state_to_spec(spec_to_state(once), once)
    assert twice == once
    assert check(once)[0] is not None


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_round_trip_through_the_browser_payload(path: Path) -> None:
    spec = load_yaml(path)
    back = state_to_spec(through_browser(spec_to_state(spec)), spec)
    assert strip_positions(back) == strip_positions(spec)


def test_examples_exist() -> None:
    assert len(EXAMPLES) >= 5


def test_selected_node(small: WorkflowSpec) -> None:
    state = spec_to_state(small, selected="ok")
    assert state.selected_id == "ok"
    assert [n.id for n in state.nodes if n.selected] == ["ok"]


def test_decorate_returns_same_state_when_nothing_changes(small: WorkflowSpec) -> None:
    state = spec_to_state(small)
    assert decorate(state) is state
    problems = [Problem(message="bad", node="big")]
    marked = decorate(state, problems=problems)
    assert marked is not state and marked.timestamp > state.timestamp
    assert "⚠ 1" in node_at(marked, "big").data["content"]
    assert decorate(marked, problems=problems) is marked
    assert "⚠" not in node_at(state, "big").data["content"]  # input untouched


def test_label_that_is_not_a_branch_becomes_none(small: WorkflowSpec) -> None:
    state = spec_to_state(small)
    for e in state.edges:
        if e.source == "big" and e.label == "true":
            e.label = "yes"
    spec = state_to_spec(state, small)
    assert [e.branch for e in spec.edges if e.source == "big"] == [None, "false"]
    _, problems = check(spec)
    assert any("needs a branch" in p.message and p.node == "big" for p in problems)


def test_workflow_fields_come_from_base(small: WorkflowSpec) -> None:
    base = small.model_copy(update={"name": "Renamed", "max_steps": 9, "description": "d"})
    spec = state_to_spec(spec_to_state(small), base)
    assert (spec.name, spec.max_steps, spec.description, spec.id) == ("Renamed", 9, "d", "small")


def test_nodes_made_by_the_pane_menu_are_left_out(small: WorkflowSpec) -> None:
    state = spec_to_state(small)
    state.nodes.append(StreamlitFlowNode("Xy9Q", (0, 0), {"content": "New"}, style={}))
    state.edges.append(StreamlitFlowEdge("st-flow-edge_big-Xy9Q", "big", "Xy9Q"))
    assert strip_positions(state_to_spec(state, small)) == small


def test_unknown_type_survives_and_looks_unknown(small: WorkflowSpec) -> None:
    odd = small.model_copy(deep=True)
    odd.nodes[2].type = "teleport"
    state = spec_to_state(odd)
    node = node_at(state, "ok")
    assert "unknown type teleport" in node.data["content"]
    assert "dashed" in node.style["border"]
    back = state_to_spec(state, odd)
    assert strip_positions(back) == odd  # labels of an unknown type's edges are kept


def test_dragged_positions_are_read_back(small: WorkflowSpec) -> None:
    state = spec_to_state(small)
    node_at(state, "ok").position = {"x": 12.3456, "y": -7}
    assert state_to_spec(state, small).node("ok").position == (12.3, -7.0)


def test_invalid_node_id_is_a_spec_error(small: WorkflowSpec) -> None:
    state = spec_to_state(small)
    state.nodes[1].id = "Bad Id"
    with pytest.raises(SpecError):
        state_to_spec(state, small)
