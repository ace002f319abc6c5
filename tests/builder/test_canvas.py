"""Canvas <-> spec conversion and the pure editing helpers of builder.canvas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit_flow.elements import StreamlitFlowEdge, StreamlitFlowNode
from streamlit_flow.state import StreamlitFlowState

from builder import canvas
from builder.canvas import (
    add_node,
    auto_layout,
    branches_for,
    connect,
    decorate,
    default_params,
    delete_edge,
    delete_node,
    edge_id,
    new_edges_without_branch,
    palette,
    parse_edge_id,
    spec_to_state,
    state_to_spec,
    update_node,
)
from runtime.compiler import check
from runtime.errors import Problem, SpecError
from runtime.nodes import NodeType, node_types
from runtime.spec import WorkflowSpec, load_yaml, parse_spec

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.yaml"))


def _strip_positions(spec: WorkflowSpec) -> WorkflowSpec:
    nodes = [n.model_copy(update={"position": None}) for n in spec.nodes]
    return spec.model_copy(update={"nodes": nodes})


def _snapshot(state: StreamlitFlowState) -> str:
    return json.dumps(state.asdict(), sort_keys=True, default=str)


def _through_browser(state: StreamlitFlowState) -> StreamlitFlowState:
    """What the component hands back: JSON through the browser, rebuilt with from_dict."""
    payload = json.loads(json.dumps(state.asdict()))
    return StreamlitFlowState(
        nodes=[StreamlitFlowNode.from_dict(n) for n in payload["nodes"]],
        edges=[StreamlitFlowEdge.from_dict(e) for e in payload["edges"]],
        selected_id=None,
        timestamp=state.timestamp + 5,
    )


@pytest.fixture
def small() -> WorkflowSpec:
    return parse_spec(
        {
            "id": "small",
            "name": "Small",
            "nodes": [
                {"id": "start", "type": "trigger"},
                {"id": "big", "type": "condition", "params": {"when": "item.amount > 5"}},
                {"id": "ok", "type": "approval", "params": {"team": "managers"}},
                {
                    "id": "wipe",
                    "type": "record_delete",
                    "params": {"key": "{{ item.id }}"},
                    "sensitive": True,
                },
                {"id": "done", "type": "end"},
            ],
            "edges": [
                {"from": "start", "to": "big"},
                {"from": "big", "to": "ok", "branch": "true"},
                {"from": "big", "to": "done", "branch": "false"},
                {"from": "ok", "to": "wipe", "branch": "approved"},
                {"from": "ok", "to": "done", "branch": "rejected"},
                {"from": "wipe", "to": "done", "branch": "next"},
                {"from": "wipe", "to": "done", "branch": "error"},
            ],
        }
    )


def _node(state: StreamlitFlowState, node_id: str) -> StreamlitFlowNode:
    return next(n for n in state.nodes if n.id == node_id)


# ---------------------------------------------------------------- round trip


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_round_trips(path: Path) -> None:
    spec = load_yaml(path)
    once = state_to_spec(spec_to_state(spec), spec)
    assert _strip_positions(once) == _strip_positions(spec)
    assert all(n.position is not None for n in once.nodes)
    twice = state_to_spec(spec_to_state(once), once)
    assert twice == once
    assert check(once)[0] is not None


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_round_trip_through_the_browser_payload(path: Path) -> None:
    spec = load_yaml(path)
    back = state_to_spec(_through_browser(spec_to_state(spec)), spec)
    assert _strip_positions(back) == _strip_positions(spec)


def test_examples_exist() -> None:
    assert len(EXAMPLES) >= 5


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


# ---------------------------------------------------------------- look


def test_node_data_and_react_flow_types(small: WorkflowSpec) -> None:
    state = spec_to_state(small)
    start, ok, wipe, done = (_node(state, i) for i in ("start", "ok", "wipe", "done"))
    assert (start.type, done.type, ok.type) == ("input", "output", "default")
    assert ok.data[canvas.K_TYPE] == "approval"
    assert ok.data[canvas.K_ID] == "ok"
    assert ok.data[canvas.K_PARAMS] == {"team": "managers"}
    assert ok.data[canvas.K_SENSITIVE] is False
    assert wipe.data[canvas.K_SENSITIVE] is True
    # checkpoints are unmistakable: thick amber border and a badge
    assert "⏸ **checkpoint**" in ok.data["content"]
    assert ok.style["border"].startswith("4px solid #d97706")
    # sensitive actions get a red marker
    assert "🔴" in wipe.data["content"]
    assert "dc2626" in wipe.style["borderLeft"]
    # families have their own colours
    colours = {_node(state, i).style["border"].split()[-1] for i in ("big", "ok", "wipe")}
    assert len(colours) == 3


def test_styles_and_markers_are_fresh_dicts(small: WorkflowSpec) -> None:
    state = spec_to_state(small)
    assert len({id(n.style) for n in state.nodes}) == len(state.nodes)
    for attr in ("style", "marker_end", "marker_start", "label_style", "label_bg_style"):
        assert len({id(getattr(e, attr)) for e in state.edges}) == len(state.edges)


def test_user_text_is_escaped_in_the_label(small: WorkflowSpec) -> None:
    state = update_node(spec_to_state(small), "ok", name="<b>*boss*</b>")
    content = _node(state, "ok").data["content"]
    assert "<b>" not in content
    assert "\\*boss\\*" in content


def test_edges_carry_their_branch_in_label_and_id(small: WorkflowSpec) -> None:
    state = spec_to_state(small)
    by_id = {e.id: e for e in state.edges}
    edge = by_id[edge_id("big", "true", "ok")]
    assert edge.label == "true"
    assert edge.label_show_bg is True
    assert edge.type == "smoothstep"
    assert edge.marker_end == {"type": "arrowclosed"}
    assert by_id[edge_id("start", None, "big")].label == ""
    assert parse_edge_id(edge_id("big", "true", "ok")) == ("big", "true", "ok")
    assert parse_edge_id(edge_id("route", "a:b c", "x")) == ("route", "a:b c", "x")
    assert parse_edge_id(edge_id("start", None, "big")) == ("start", None, "big")
    assert parse_edge_id("st-flow-edge_a-b") is None


def test_problems_mark_their_nodes(small: WorkflowSpec) -> None:
    broken = small.model_copy(deep=True)
    broken.nodes[1].params = {"when": "item.amount >"}
    _, problems = check(broken)
    state = spec_to_state(broken, problems=problems)
    big = _node(state, "big")
    mine = [p for p in problems if p.node == "big"]
    assert mine
    assert f"⚠ {len(mine)}" in big.data["content"]
    assert "dc2626" in big.style["border"]
    assert big.data[canvas.K_PROBLEMS][0]["message"] == mine[0].message
    clean = {n.id for n in broken.nodes} - {p.node for p in problems}
    assert clean
    for node_id in clean:
        assert "⚠" not in _node(state, node_id).data["content"]
        assert "dc2626" not in _node(state, node_id).style["border"]
    warned = spec_to_state(small, problems=[Problem(message="w", node="ok", severity="warning")])
    assert "dashed" in _node(warned, "ok").style["border"]


def test_highlight_marks_the_path(small: WorkflowSpec) -> None:
    path = ["start", "big", "ok", "done"]
    state = spec_to_state(small, highlight=path)
    for node in state.nodes:
        assert ("boxShadow" in node.style) == (node.id in path)
        assert node.data[canvas.K_HIGHLIGHT] == (node.id in path)
    animated = {(e.source, e.target) for e in state.edges if e.animated}
    assert animated == {("start", "big"), ("big", "ok"), ("ok", "done")}
    green = [e for e in state.edges if e.style.get("stroke") == "#16a34a"]
    assert len(green) == 3


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
    assert "⚠ 1" in _node(marked, "big").data["content"]
    assert decorate(marked, problems=problems) is marked
    assert "⚠" not in _node(state, "big").data["content"]  # input untouched


# ---------------------------------------------------------------- state -> spec


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
    assert _strip_positions(state_to_spec(state, small)) == small


def test_unknown_type_survives_and_looks_unknown(small: WorkflowSpec) -> None:
    odd = small.model_copy(deep=True)
    odd.nodes[2].type = "teleport"
    state = spec_to_state(odd)
    node = _node(state, "ok")
    assert "unknown type teleport" in node.data["content"]
    assert "dashed" in node.style["border"]
    back = state_to_spec(state, odd)
    assert _strip_positions(back) == odd  # labels of an unknown type's edges are kept


def test_dragged_positions_are_read_back(small: WorkflowSpec) -> None:
    state = spec_to_state(small)
    _node(state, "ok").position = {"x": 12.3456, "y": -7}
    assert state_to_spec(state, small).node("ok").position == (12.3, -7.0)


def test_invalid_node_id_is_a_spec_error(small: WorkflowSpec) -> None:
    state = spec_to_state(small)
    state.nodes[1].id = "Bad Id"
    with pytest.raises(SpecError):
        state_to_spec(state, small)


# ---------------------------------------------------------------- helpers


def test_default_params_are_valid_for_every_registered_type() -> None:
    for name, ntype in node_types().items():
        params = default_params(name, ref="intent")
        ntype.Params.model_validate(params)
        required = {k for k, f in ntype.Params.model_fields.items() if f.is_required()}
        assert set(params) == required, name
    assert default_params("condition") == {"when": "true"}
    with pytest.raises(ValueError, match="unknown node type"):
        default_params("nope")


def test_add_node_gives_unique_ids_and_valid_params(small: WorkflowSpec) -> None:
    original = spec_to_state(small)
    before = _snapshot(original)
    state = original
    for name in node_types():
        state, node_id = add_node(state, small, name)
        assert node_id == f"{name}_1"
    state, second = add_node(state, small, "approval")
    assert second == "approval_2"
    assert _snapshot(original) == before
    spec = state_to_spec(state, small)
    for node in spec.nodes:
        ntype = node_types()[node.type]
        ntype.Params.model_validate(node.params)
    positions = [(n.position["x"], n.position["y"]) for n in state.nodes]
    assert len(set(positions)) == len(positions)


def test_add_node_right_of_the_selected_one(small: WorkflowSpec) -> None:
    state = spec_to_state(small, selected="big")
    new, node_id = add_node(state, small, "confidence_gate")
    node = _node(new, node_id)
    big = _node(new, "big")
    assert node.position["x"] == big.position["x"] + canvas.LAYER_GAP
    assert node.data[canvas.K_PARAMS] == {"of": "big", "threshold": 0.8}
    assert node.position not in [n.position for n in new.nodes if n.id != node_id]
    bottom, other = add_node(spec_to_state(small), small, "audit")
    ys = [n.position["y"] for n in bottom.nodes if n.id != other]
    assert _node(bottom, other).position["y"] > max(ys)


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
    node = _node(new, "manager_ok")
    assert node.data[canvas.K_ID] == "manager_ok"
    assert "**Manager**" in node.data["content"]
    assert edge_id("big", "true", "manager_ok") in [e.id for e in new.edges]
    assert all("ok" not in (e.source, e.target) for e in new.edges)
    spec = state_to_spec(new, small)
    assert spec.node("manager_ok").name == "Manager"
    assert check(spec)[0] is not None
    cleared = update_node(new, "manager_ok", name="")
    assert _node(cleared, "manager_ok").data[canvas.K_NAME] is None
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
    assert "🔴" not in _node(state, "wipe").data["content"]


def test_branches_for(small: WorkflowSpec) -> None:
    state = spec_to_state(small)
    assert branches_for(state, "big") == ["true", "false"]
    assert branches_for(state, "ok") == ["approved", "rejected"]
    assert branches_for(state, "done") == []
    assert branches_for(state, "ghost") == []
    broken = update_node(state, "ok", params={"deadline": "soon"})
    assert branches_for(broken, "ok") == ["approved", "rejected"]  # the type's defaults
    _node(broken, "ok").data[canvas.K_TYPE] = "teleport"
    assert branches_for(broken, "ok") == []


def test_unlabelled_edge_from_a_single_branch_node_needs_nothing(small: WorkflowSpec) -> None:
    state, audit = add_node(spec_to_state(small), small, "audit")
    state.edges.append(StreamlitFlowEdge(f"st-flow-edge_{audit}-done", audit, "done"))
    assert new_edges_without_branch(state) == []
    spec = state_to_spec(state, small)
    assert [e.branch for e in spec.edges if e.source == audit] == [None]


def test_auto_layout(small: WorkflowSpec) -> None:
    state = spec_to_state(small)
    for node in state.nodes:
        node.position = {"x": 999.0, "y": 999.0}
    laid = auto_layout(state)
    assert laid.timestamp > state.timestamp
    assert [n.position for n in laid.nodes] == [n.position for n in spec_to_state(small).nodes]


def test_every_helper_returns_a_newer_timestamp(small: WorkflowSpec) -> None:
    state = spec_to_state(small)
    state.timestamp += 60_000  # the browser's clock may run ahead of ours
    steps = [
        lambda s: add_node(s, small, "approval")[0],
        lambda s: connect(s, "big", "done", "true"),
        lambda s: delete_edge(s, s.edges[0].id),
        lambda s: update_node(s, "ok", name="x"),
        lambda s: delete_node(s, "wipe"),
        auto_layout,
        lambda s: decorate(s, highlight=["start", "big"]),
    ]
    for step in steps:
        before = _snapshot(state)
        new = step(state)
        assert new.timestamp > state.timestamp
        assert _snapshot(state) == before  # the input state is not changed
        state = new
    later = spec_to_state(small, previous=state)
    assert later.timestamp > state.timestamp


def test_palette_lists_every_registered_type_by_family(monkeypatch) -> None:
    pal = palette()
    listed = {name: family for family, items in pal.items() for name, _, _ in items}
    assert listed == {name: t.family for name, t in node_types().items()}
    assert ("approval", "Approval", node_types()["approval"].description) in pal["checkpoint"]

    class Teleport(NodeType):
        type_name = "teleport"
        family = "action"
        title = "Teleport"
        description = "Moves an item somewhere else."

    from runtime import nodes

    monkeypatch.setitem(nodes._REGISTRY, "teleport", Teleport())
    assert ("teleport", "Teleport", "Moves an item somewhere else.") in palette()["action"]
    state, node_id = add_node(
        StreamlitFlowState([], []), parse_spec({"id": "x", "name": "X"}), "teleport"
    )
    assert node_id == "teleport_1"
    assert branches_for(state, node_id) == ["next"]
