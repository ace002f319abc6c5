"""The editing session without Streamlit: what it takes from the canvas and what it keeps."""

from __future__ import annotations

import copy

import pytest
from streamlit_flow.elements import StreamlitFlowEdge

from builder.design import canvas
from builder.design.editor import Editor, blank_spec
from runtime.spec import WorkflowSpec, parse_spec
from tests.builder.design.canvas.support import node_at, through_browser


@pytest.fixture
def ed() -> Editor:
    spec = parse_spec(
        {
            "id": "gate",
            "name": "Gate",
            "nodes": [
                {"id": "start", "type": "trigger"},
                {"id": "big", "type": "condition", "params": {"when": "item.amount > 5"}},
                {"id": "done", "type": "end"},
            ],
            "edges": [
                {"from": "start", "to": "big"},
                {"from": "big", "to": "done", "branch": "true"},
                {"from": "big", "to": "done", "branch": "false"},
            ],
        }
    )
    return Editor(spec, canvas.spec_to_state(spec))


def test_a_blank_workflow_is_valid() -> None:
    spec = blank_spec()
    ed = Editor(spec, canvas.spec_to_state(spec))
    shown, problems = ed.spec()
    assert isinstance(shown, WorkflowSpec) and [n.id for n in shown.nodes] == ["start", "done"]
    assert [p for p in problems if p.severity == "error"] == []


def test_spec_reports_problems_and_ids_it_cannot_parse(ed: Editor) -> None:
    ed.replace(canvas.update_node(ed.state, "big", params={"when": "item.amount >"}))
    spec, problems = ed.spec()
    assert spec is not None and any(p.node == "big" for p in problems)
    ed.state.nodes[1].id = "Bad Id"
    spec, problems = ed.spec()
    assert spec is None and problems


def test_accept_takes_positions_selection_and_drawn_edges(ed: Editor) -> None:
    sent = through_browser(ed.state)
    node_at(sent, "big").position = {"x": 11.0, "y": 22.0}
    sent.selected_id = "big"
    sent.edges.append(StreamlitFlowEdge("st-flow-edge_start-done", "start", "done"))
    before = ed.state.timestamp
    ed.accept(sent)
    assert node_at(ed.state, "big").position == {"x": 11.0, "y": 22.0}
    assert ed.selected == "big"
    assert "st-flow-edge_start-done" in [e.id for e in ed.state.edges]
    assert ed.browser_ts == sent.timestamp
    assert ed.state.timestamp == before  # the browser already shows this shape


def test_accept_keeps_what_this_session_owns(ed: Editor) -> None:
    stale = through_browser(ed.state)  # an echo from before the change below
    ed.replace(canvas.update_node(ed.state, "big", name="Big spender"))
    node_at(stale, "big").data["lg_name"] = "from the browser"
    stale.nodes = [n for n in stale.nodes if n.id != "done"]  # Backspace in the browser
    stale.edges = [e for e in stale.edges if "done" not in (e.source, e.target)]
    stale.timestamp = ed.state.timestamp + 1
    before = ed.state.timestamp
    ed.accept(stale)
    assert node_at(ed.state, "big").data["lg_name"] == "Big spender"
    assert [n.id for n in ed.state.nodes] == ["start", "big", "done"]
    assert ed.state.timestamp > before  # re-stamped, so the browser reloads our state


def test_accept_ignores_repeats_and_edges_it_has_had(ed: Editor) -> None:
    drawn = StreamlitFlowEdge("st-flow-edge_start-done", "start", "done")
    sent = through_browser(ed.state)
    sent.edges.append(drawn)
    ed.accept(sent)
    ed.replace(canvas.delete_edge(ed.state, drawn.id))  # removed here
    ed.accept(sent)  # the same value again: nothing happens
    assert drawn.id not in [e.id for e in ed.state.edges]
    later = copy.deepcopy(sent)
    later.timestamp += 1
    ed.accept(later)  # a later echo still holding it: it stays removed
    assert drawn.id not in [e.id for e in ed.state.edges]
    ed.accept(ed.state)  # our own state handed back: nothing to merge
    assert drawn.id not in [e.id for e in ed.state.edges]


def test_replace_clears_the_test_path_unless_asked(ed: Editor) -> None:
    ed.path = ["start", "big"]
    ed.replace(canvas.auto_layout(ed.state), keep_path=True)
    assert ed.path == ["start", "big"]
    ed.replace(canvas.delete_node(ed.state, "done"))
    assert ed.path == []
    ed.say("warning", "careful")
    assert ed.flash == ("warning", "careful")
