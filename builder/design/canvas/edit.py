"""Editing a canvas state: add, change, connect and delete nodes and edges."""

from __future__ import annotations

import copy
import re
from typing import Any

from streamlit_flow.elements import StreamlitFlowEdge
from streamlit_flow.state import StreamlitFlowState

from builder.design.canvas.branches import branches_for
from builder.design.canvas.card import make_edge, make_node, render
from builder.design.canvas.layout import free_position
from builder.design.canvas.presets import default_params
from builder.design.canvas.state import (
    K_DESCRIPTION,
    K_ID,
    K_NAME,
    K_PARAMS,
    K_SENSITIVE,
    K_TYPE,
    copy_state,
    edge_id,
    find_node,
    node_data,
    unique_edge_ids,
)
from runtime.nodes import get_node_type
from runtime.spec import ID_PATTERN, NodeSpec, WorkflowSpec


def _new_id(type_name: str, taken: set[str]) -> str:
    stem = re.sub(r"[^a-z0-9_]", "_", type_name.lower()).strip("_") or "node"
    if not stem[0].isalpha():
        stem = f"n_{stem}"
    stem = stem[:58]
    n = 1
    while f"{stem}_{n}" in taken:
        n += 1
    return f"{stem}_{n}"


def _check_new_id(node_id: str, state: StreamlitFlowState) -> None:
    if not re.fullmatch(ID_PATTERN, node_id):
        raise ValueError(
            f"node id {node_id!r} is not valid: use lowercase letters, digits and _, "
            "starting with a letter (at most 64 characters)"
        )
    if find_node(state, node_id) is not None:
        raise ValueError(f"node id {node_id!r} is already used; pick another")


def add_node(
    state: StreamlitFlowState,
    spec_base: WorkflowSpec,
    type_name: str,
    node_id: str | None = None,
    *,
    after: str | None = None,
) -> tuple[StreamlitFlowState, str]:
    """Add a node of ``type_name`` with minimum valid params.

    Args:
        state: the current canvas state.
        spec_base: the workflow being edited; its node ids are not reused for new nodes.
        type_name: a registered node type.
        node_id: the id to use; by default ``<type>_<n>`` with the first free n.
        after: place the node right of this node (default: ``state.selected_id``); without
            one, below everything. It also fills parameters that name a node (a gate's ``of``).

    Returns:
        ``(new state, the new node's id)``.

    Raises:
        ValueError: unknown type, or an invalid or taken ``node_id``.
    """
    default_params(type_name)  # raises for an unknown type
    if node_id is None:
        node_id = _new_id(type_name, {n.id for n in state.nodes} | {n.id for n in spec_base.nodes})
    _check_new_id(node_id, state)
    anchor = after if after is not None else state.selected_id
    anchor = anchor if anchor and find_node(state, anchor) is not None else None
    spec = NodeSpec(id=node_id, type=type_name, params=default_params(type_name, ref=anchor))
    new = copy_state(state)
    new.nodes.append(make_node(node_id, free_position(state, anchor), node_data(spec)))
    return new, node_id


def delete_node(state: StreamlitFlowState, node_id: str) -> StreamlitFlowState:
    """Remove a node and every edge into or out of it (no change if it is not there).

    Args:
        state: the current canvas state; it is not changed.
        node_id: the node to remove.

    Returns:
        A new state, or ``state`` itself when there is no such node.
    """
    if find_node(state, node_id) is None:
        return state
    new = copy_state(state)
    new.nodes = [n for n in new.nodes if n.id != node_id]
    new.edges = [e for e in new.edges if node_id not in (e.source, e.target)]
    if new.selected_id == node_id:
        new.selected_id = None
    return new


def delete_edge(state: StreamlitFlowState, edge_id: str) -> StreamlitFlowState:
    """Remove one edge by id (no change if it is not there).

    Args:
        state: the current canvas state; it is not changed.
        edge_id: the edge to remove.

    Returns:
        A new state, or ``state`` itself when there is no such edge.
    """
    if not any(e.id == edge_id for e in state.edges):
        return state
    new = copy_state(state)
    new.edges = [e for e in new.edges if e.id != edge_id]
    return new


def connect(
    state: StreamlitFlowState, source: str, target: str, branch: str | None
) -> StreamlitFlowState:
    """Lead ``source``'s ``branch`` to ``target``.

    One branch leads to one node, so an edge of the same source and branch is replaced (in
    place, keeping the edge order), and so are unlabelled edges from source to target (drawn
    in the browser, waiting for their branch). ``branch=None`` means the source's only branch.

    Args:
        state: the current canvas state; it is not changed.
        source: the node the edge leaves.
        target: the node it leads to.
        branch: one of the source's branches, or None for its only one.

    Returns:
        A new state.

    Raises:
        ValueError: a missing node, or a branch the source does not have.
    """
    for node_id in (source, target):
        if find_node(state, node_id) is None:
            raise ValueError(f"no node {node_id!r} on the canvas")
    branch = branch or None
    options = branches_for(state, source)
    if not options and get_node_type(str(find_node(state, source).data.get(K_TYPE, ""))):
        raise ValueError(f"{source} has no branches: nothing can leave it")
    if branch is None and len(options) > 1:
        raise ValueError(f"{source} needs a branch: one of {', '.join(options)}")
    if branch is not None and options and branch not in options:
        raise ValueError(f"{source} has no branch {branch!r}; its branches: {', '.join(options)}")
    only = options[0] if len(options) == 1 else None

    def effective(label: str | None) -> str | None:
        return (label or None) or only

    new = copy_state(state)
    edge = make_edge(source, target, branch)
    edges: list[StreamlitFlowEdge] = []
    placed = False
    for e in new.edges:
        same_branch = e.source == source and effective(e.label) == effective(branch)
        pending = e.source == source and e.target == target and not e.label
        if same_branch or pending:
            if not placed:
                edges.append(edge)
                placed = True
            continue
        edges.append(e)
    if not placed:
        edges.append(edge)
    new.edges = edges
    unique_edge_ids(new.edges)
    return new


def update_node(
    state: StreamlitFlowState,
    node_id: str,
    *,
    new_id: str | None = None,
    params: dict[str, Any] | None = None,
    sensitive: bool | None = None,
    name: str | None = None,
    description: str | None = None,
) -> StreamlitFlowState:
    """Change a node's id, params, sensitive flag, name or description.

    ``None`` leaves a field as it is; an empty ``name`` or ``description`` clears it. A new id
    rewrites the node's edges (references in other nodes' params are not rewritten: the
    compiler reports them).

    Args:
        state: the current canvas state; it is not changed.
        node_id: the node to change.
        new_id: its new id.
        params: its new params (copied).
        sensitive: its new sensitive flag.
        name: its new display name.
        description: its new description.

    Returns:
        A new state.

    Raises:
        KeyError: no such node.
        ValueError: an invalid or taken ``new_id``.
    """
    if find_node(state, node_id) is None:
        raise KeyError(f"no node {node_id!r} on the canvas")
    if new_id is not None and new_id != node_id:
        _check_new_id(new_id, state)
    new = copy_state(state)
    node = find_node(new, node_id)
    assert node is not None
    if params is not None:
        node.data[K_PARAMS] = copy.deepcopy(params)
    if sensitive is not None:
        node.data[K_SENSITIVE] = bool(sensitive)
    if name is not None:
        node.data[K_NAME] = name.strip() or None
    if description is not None:
        node.data[K_DESCRIPTION] = description.strip() or None
    if new_id is not None and new_id != node_id:
        node.id = new_id
        node.data[K_ID] = new_id
        for e in new.edges:
            if node_id in (e.source, e.target):
                e.source = new_id if e.source == node_id else e.source
                e.target = new_id if e.target == node_id else e.target
                e.id = edge_id(e.source, e.label or None, e.target)
        unique_edge_ids(new.edges)
        if new.selected_id == node_id:
            new.selected_id = new_id
    render(node)
    return new
