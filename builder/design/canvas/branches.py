"""Which branches a canvas node has, which branch an edge is, and which edges still need one."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from streamlit_flow.elements import StreamlitFlowEdge, StreamlitFlowNode
from streamlit_flow.state import StreamlitFlowState

from builder.design.canvas.presets import default_params
from builder.design.canvas.state import K_PARAMS, K_TYPE, find_node
from runtime.nodes import NodeType, default_branch, get_node_type


def strict_branches(type_name: str, params: dict[str, Any]) -> list[str] | None:
    """The branches for these params, or None when the type is unknown or params invalid."""
    ntype = get_node_type(type_name)
    if ntype is None:
        return None
    try:
        return list(ntype.branches(ntype.Params.model_validate(params)))
    except ValidationError:
        return None


def implied_branch(type_name: str, params: dict[str, Any]) -> str | None:
    """The branch a file's edge without one stands for on a node with several branches
    (``next`` on a node whose branches are ``next`` and ``error``), shown as the edge's label.

    Returns:
        None for a node with one branch (its edges stay unlabelled), for a node whose edges
        must name a branch, and when the type is unknown or the params invalid.
    """
    branches = strict_branches(type_name, params)
    if not branches or len(branches) == 1:
        return None
    return default_branch(branches)


def default_branches(ntype: NodeType) -> list[str]:
    """The branches a node of this type has with its default params ([] if they are invalid)."""
    try:
        return list(ntype.branches(ntype.Params.model_validate(default_params(ntype.type_name))))
    except ValidationError:
        return []


def branches_for(state: StreamlitFlowState, node_id: str) -> list[str]:
    """The branches a canvas node can take, from the registry and its current params.

    Falls back to the type's branches with default params when the params are invalid,
    and gives [] for an unknown node or type.

    Args:
        state: the canvas state.
        node_id: the node on it.

    Returns:
        Branch names in the type's order.
    """
    node = find_node(state, node_id)
    if node is None:
        return []
    type_name = str(node.data.get(K_TYPE, ""))
    strict = strict_branches(type_name, node.data.get(K_PARAMS) or {})
    if strict is not None:
        return strict
    ntype = get_node_type(type_name)
    return default_branches(ntype) if ntype else []


def edge_branch(edge: StreamlitFlowEdge, source: StreamlitFlowNode | None) -> str | None:
    """The branch an edge stands for: its label, if that is a branch of the source.

    Args:
        edge: the canvas edge.
        source: the node it leaves, or None when that is not one of ours.

    Returns:
        The label; None for an empty label or one the source does not have. A label is kept
        as it is when the source's branches cannot be known (unknown type, invalid params).
    """
    label = (edge.label or "").strip()
    if not label:
        return None
    if source is None:
        return label
    allowed = strict_branches(str(source.data.get(K_TYPE, "")), source.data.get(K_PARAMS) or {})
    if allowed is None:  # unknown type or invalid params: cannot judge, keep the label
        return label
    return label if label in allowed else None


def new_edges_without_branch(state: StreamlitFlowState) -> list[str]:
    """Ids of edges whose branch the page must ask for.

    These are edges without a label from a node with more than one branch (drawn in the
    browser), and edges whose label is not (or no longer) one of the source's branches.
    An unlabelled edge from a node with exactly one branch needs nothing.

    Args:
        state: the canvas state.

    Returns:
        Edge ids in the state's edge order.
    """
    out = []
    for e in state.edges:
        options = branches_for(state, e.source)
        label = (e.label or "").strip()
        if (not label and len(options) > 1) or (label and options and label not in options):
            out.append(e.id)
    return out
