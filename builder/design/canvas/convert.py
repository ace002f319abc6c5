"""A WorkflowSpec as a canvas state and back, and the marks a state shows on every rerun."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence

from streamlit_flow.state import StreamlitFlowState

from builder.design.canvas.branches import edge_branch, implied_branch
from builder.design.canvas.card import make_edge, make_node, mark
from builder.design.canvas.layout import layered_positions
from builder.design.canvas.state import (
    K_DESCRIPTION,
    K_NAME,
    K_PARAMS,
    K_SENSITIVE,
    K_TYPE,
    copy_state,
    newer,
    node_data,
    now_ms,
    unique_edge_ids,
)
from runtime.errors import Problem
from runtime.spec import WorkflowSpec, parse_spec


def spec_to_state(
    spec: WorkflowSpec,
    *,
    problems: Iterable[Problem] | None = None,
    highlight: Sequence[str] | None = None,
    selected: str | None = None,
    previous: StreamlitFlowState | None = None,
) -> StreamlitFlowState:
    """The canvas state showing ``spec``.

    An edge without a branch from a node whose branches are ``next`` and ``error`` means
    ``next``, and its label says so (it is not shown as a connection waiting for a branch).

    Args:
        spec: the workflow.
        problems: compiler problems; nodes they name get a red (errors) or dashed orange
            (warnings only) border and a ``⚠ n`` marker, and the problems in ``data``.
        highlight: node ids of a test run's path, in order: glowing nodes, animated edges.
        selected: the node to show selected.
        previous: the state this one replaces; the new timestamp is later than its one.

    Returns:
        A new state. Nodes without a position get the layered layout.
    """
    trigger = next((n.id for n in spec.nodes if n.type == "trigger"), None)
    by_id = {n.id: n for n in spec.nodes}

    def branch_of(source: str, branch: str | None) -> str | None:
        node = by_id.get(source)
        if branch is not None or node is None:
            return branch
        return implied_branch(node.type, node.params)  # e.g. next: the label says so

    pairs = [(e.source, e.target) for e in spec.edges]
    labels = {(e.source, e.target): branch_of(e.source, e.branch) or "" for e in spec.edges}
    auto = layered_positions([n.id for n in spec.nodes], pairs, trigger, labels)
    nodes = [make_node(n.id, n.position or auto[n.id], node_data(n)) for n in spec.nodes]

    edges = [make_edge(e.source, e.target, branch_of(e.source, e.branch)) for e in spec.edges]
    unique_edge_ids(edges)
    timestamp = newer(previous.timestamp) if previous is not None else now_ms()
    state = StreamlitFlowState(nodes=nodes, edges=edges, selected_id=selected, timestamp=timestamp)
    mark(state, problems, highlight, selected if selected is not None else "")
    return state


def decorate(
    state: StreamlitFlowState,
    *,
    problems: Iterable[Problem] | None = None,
    highlight: Sequence[str] | None = None,
    selected: str | None = None,
) -> StreamlitFlowState:
    """Show problems, a test run's path and the selection on an existing state.

    Returns ``state`` itself when nothing changes, so calling this on every rerun does not
    make the browser reload the canvas; otherwise a new state with a newer timestamp.
    ``selected=None`` keeps each node's selection as it is.

    Args:
        state: the current canvas state; it is not changed.
        problems: compiler problems to mark on their nodes.
        highlight: node ids of a test run's path, in order.
        selected: the node to show selected.

    Returns:
        ``state`` or a new state, as above.
    """
    new = copy_state(state)
    mark(new, problems, highlight, selected)
    same = [n.asdict() for n in new.nodes] == [n.asdict() for n in state.nodes] and [
        e.asdict() for e in new.edges
    ] == [e.asdict() for e in state.edges]
    return state if same else new


def state_to_spec(state: StreamlitFlowState, base: WorkflowSpec) -> WorkflowSpec:
    """The workflow a canvas state shows.

    Workflow-level fields (id, name, description, input, max_steps) come from ``base``; nodes
    from the canvas nodes' ``data`` and positions; edges from source, target and label. A label
    that is empty, or not a branch of its source, gives ``branch: None`` so the compiler names
    the edge. Nodes without ``lg_type`` (made by the component's own pane menu) are left out,
    with their edges.

    Args:
        state: the canvas state.
        base: the workflow being edited.

    Returns:
        The parsed workflow (not compiled: problems are the compiler's to find).

    Raises:
        SpecError: when a node's id or fields are invalid (e.g. a bad id pattern).
    """
    ours = {n.id: n for n in state.nodes if K_TYPE in (n.data or {})}
    foreign = {n.id for n in state.nodes} - set(ours)
    nodes = [
        {
            "id": n.id,
            "type": n.data[K_TYPE],
            "name": n.data.get(K_NAME) or None,
            "description": n.data.get(K_DESCRIPTION) or None,
            "params": copy.deepcopy(n.data.get(K_PARAMS) or {}),
            "sensitive": bool(n.data.get(K_SENSITIVE)),
            "position": (round(float(n.position["x"]), 1), round(float(n.position["y"]), 1)),
        }
        for n in ours.values()
    ]
    edges = [
        {"from": e.source, "to": e.target, "branch": edge_branch(e, ours.get(e.source))}
        for e in state.edges
        if e.source not in foreign and e.target not in foreign
    ]
    data = base.model_dump(mode="python", by_alias=True, exclude={"nodes", "edges"})
    return parse_spec({**data, "nodes": nodes, "edges": edges})
