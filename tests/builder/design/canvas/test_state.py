"""The canvas state's vocabulary: edge ids, lookups, copies and newer timestamps."""

from __future__ import annotations

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
