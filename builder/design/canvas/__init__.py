"""The Builder's canvas: a WorkflowSpec as a streamlit-flow state and back, and its editing.

Nothing here calls Streamlit. A helper that changes something returns a new state (the input
is not changed) whose ``timestamp`` is newer than the input's, because the browser ignores
older states; one that changes nothing returns its input.
Our node type and parameters travel in each node's ``data`` under the ``lg_*`` keys; an
edge's branch travels in its label (and in its id, ``lg:<source>:<branch>:<target>``).

Modules: ``state`` (data keys, edge ids, copies), ``presets`` (palette, a new node's
params), ``branches``, ``card`` (how a node looks), ``layout``, ``convert`` (spec <-> state)
and ``edit`` (add, change, connect, delete).
"""

from builder.design.canvas.branches import branches_for, new_edges_without_branch
from builder.design.canvas.card import NODE_WIDTH
from builder.design.canvas.convert import decorate, spec_to_state, state_to_spec
from builder.design.canvas.edit import add_node, connect, delete_edge, delete_node, update_node
from builder.design.canvas.layout import LAYER_GAP, ROW_GAP, auto_layout
from builder.design.canvas.presets import default_params, palette
from builder.design.canvas.state import (
    CONTENT,
    EDGE_PREFIX,
    K_DESCRIPTION,
    K_HIGHLIGHT,
    K_ID,
    K_NAME,
    K_PARAMS,
    K_PROBLEMS,
    K_SENSITIVE,
    K_TYPE,
    copy_state,
    edge_id,
    newer,
    parse_edge_id,
)

__all__ = [
    "CONTENT",
    "EDGE_PREFIX",
    "K_DESCRIPTION",
    "K_HIGHLIGHT",
    "K_ID",
    "K_NAME",
    "K_PARAMS",
    "K_PROBLEMS",
    "K_SENSITIVE",
    "K_TYPE",
    "LAYER_GAP",
    "NODE_WIDTH",
    "ROW_GAP",
    "add_node",
    "auto_layout",
    "branches_for",
    "connect",
    "copy_state",
    "decorate",
    "default_params",
    "delete_edge",
    "delete_node",
    "edge_id",
    "new_edges_without_branch",
    "newer",
    "palette",
    "parse_edge_id",
    "spec_to_state",
    "state_to_spec",
    "update_node",
]
