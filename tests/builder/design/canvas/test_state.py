"""The canvas state's vocabulary: edge ids, lookups, copies and newer timestamps."""

from __future__ import annotations

from streamlit_flow.elements import StreamlitFlowEdge

from builder.design.canvas import (
    add_node,
    auto_layout,
    connect,
    decorate,
    delete_edge,
    delete_node,
    spec_to_state,
    update_node,
)
from builder.design.canvas.state import (
    CONTENT,
    K_HIGHLIGHT,
    K_ID,
    K_NAME,
    K_PARAMS,
    K_PROBLEMS,
    K_SENSITIVE,
    K_TYPE,
    copy_state,
    edge_id,
    find_node,
    newer,
    node_data,
    now_ms,
    parse_edge_id,
    unique_edge_ids,
)
from runtime.spec import WorkflowSpec
from tests.builder.design.canvas.support import snapshot


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
        before = snapshot(state)
        new = step(state)
        assert new.timestamp > state.timestamp
        assert snapshot(state) == before  # the input state is not changed
        state = new
    later = spec_to_state(small, previous=state)
    assert later.timestamp > state.timestamp


def test_newer_beats_the_clock_and_the_given_timestamp() -> None:
    ahead = now_ms() + 60_000
    assert newer(ahead) == ahead + 1
    assert newer(None) >= now_ms() - 1000
    assert newer(0) > 0


def test_copy_state_is_deep_and_newer(small: WorkflowSpec) -> None:
    state = spec_to_state(small, selected="ok")
    copied = copy_state(state)
    assert copied.timestamp > state.timestamp
    assert copied.selected_id == "ok"
    assert snapshot(copied).replace(str(copied.timestamp), "T") == snapshot(state).replace(
        str(state.timestamp), "T"
    )
    find_node(copied, "ok").data[K_NAME] = "changed"
    copied.edges[0].label = "changed"
    assert find_node(state, "ok").data[K_NAME] is None
    assert state.edges[0].label != "changed"


def test_find_node(small: WorkflowSpec) -> None:
    state = spec_to_state(small)
    assert find_node(state, "big").id == "big"
    assert find_node(state, "ghost") is None


def test_node_data_carries_the_spec_node(small: WorkflowSpec) -> None:
    wipe = small.node("wipe")
    data = node_data(wipe)
    assert data[K_TYPE] == "record_delete" and data[K_ID] == "wipe"
    assert data[K_PARAMS] == {"key": "{{ item.id }}"} and data[K_PARAMS] is not wipe.params
    assert data[K_SENSITIVE] is True
    assert (data[K_PROBLEMS], data[K_HIGHLIGHT], data[CONTENT]) == ([], False, "")


def test_parse_edge_id_refuses_what_is_not_ours() -> None:
    assert parse_edge_id("lg:only-one-part") is None
    assert parse_edge_id("lg:a:b") is None
    assert parse_edge_id(edge_id("a", "x", "b") + "#3") == ("a", "x", "b")


def test_unique_edge_ids_suffix_repeats_in_place() -> None:
    edges = [StreamlitFlowEdge(edge_id("a", "x", "b"), "a", "b") for _ in range(3)]
    edges.append(StreamlitFlowEdge(edge_id("a", "y", "b"), "a", "b"))
    unique_edge_ids(edges)
    base = edge_id("a", "x", "b")
    assert [e.id for e in edges] == [base, f"{base}#2", f"{base}#3", edge_id("a", "y", "b")]
