"""The canvas state's vocabulary: node data keys, edge ids, node lookup, newer copies."""

from __future__ import annotations

import copy
import re
import time
from typing import Any

from streamlit_flow.elements import StreamlitFlowEdge, StreamlitFlowNode
from streamlit_flow.state import StreamlitFlowState

from runtime.spec import NodeSpec

# Keys of a canvas node's ``data``. ``content`` is the Markdown label the component shows.
CONTENT = "content"
K_TYPE = "lg_type"
K_ID = "lg_id"
K_NAME = "lg_name"
K_DESCRIPTION = "lg_description"
K_PARAMS = "lg_params"
K_SENSITIVE = "lg_sensitive"
K_PROBLEMS = "lg_problems"  # [{"message", "field", "severity"}] from the last decorate
K_HIGHLIGHT = "lg_highlight"  # on the highlighted test-run path

EDGE_PREFIX = "lg:"


def now_ms() -> int:
    """The current time in milliseconds, the unit of a canvas state's ``timestamp``."""
    return int(time.time() * 1000)


def newer(timestamp: int | float | None) -> int:
    """A timestamp later than ``timestamp`` (which may come from the browser's clock).

    Args:
        timestamp: the timestamp to outdo; None counts as 0.

    Returns:
        Now, or ``timestamp + 1`` when that is later.
    """
    return max(now_ms(), int(timestamp or 0) + 1)


def copy_state(state: StreamlitFlowState) -> StreamlitFlowState:
    """A deep copy with a newer timestamp: what every changing helper returns.

    Args:
        state: the state to copy; it is not changed.

    Returns:
        A new state with copies of the nodes and edges and the same selection.
    """
    return StreamlitFlowState(
        nodes=copy.deepcopy(state.nodes),
        edges=copy.deepcopy(state.edges),
        selected_id=state.selected_id,
        timestamp=newer(state.timestamp),
    )


def find_node(state: StreamlitFlowState, node_id: str) -> StreamlitFlowNode | None:
    """The node with this id on the canvas, or None."""
    return next((n for n in state.nodes if n.id == node_id), None)


def node_data(node: NodeSpec) -> dict[str, Any]:
    """A canvas node's ``data`` for a workflow node: our type, id, params and flags.

    Args:
        node: the workflow's node.

    Returns:
        The ``lg_*`` keys filled from ``node``, no problems, no highlight and an empty label
        (the card fills it in).
    """
    return {
        CONTENT: "",
        K_TYPE: node.type,
        K_ID: node.id,
        K_NAME: node.name,
        K_DESCRIPTION: node.description,
        K_PARAMS: copy.deepcopy(node.params),
        K_SENSITIVE: node.sensitive,
        K_PROBLEMS: [],
        K_HIGHLIGHT: False,
    }


def edge_id(source: str, branch: str | None, target: str) -> str:
    """The deterministic id of the edge from ``source``'s ``branch`` to ``target``.

    Args:
        source: the node the edge leaves.
        branch: the branch it stands for, or None for the source's only branch.
        target: the node the edge leads to.

    Returns:
        ``lg:<source>:<branch>:<target>`` (the branch empty when None).
    """
    return f"{EDGE_PREFIX}{source}:{branch or ''}:{target}"


def parse_edge_id(value: str) -> tuple[str, str | None, str] | None:
    """``(source, branch, target)`` from an id made by :func:`edge_id`, else None.

    Node ids cannot hold ``:``, so a branch may (switch cases are free text).

    Args:
        value: an edge id, ours or one the component made.

    Returns:
        The parts of one of our ids (a ``#n`` suffix of a repeated id dropped), or None.
    """
    if not value.startswith(EDGE_PREFIX):
        return None
    rest = value[len(EDGE_PREFIX) :]
    source, sep, tail = rest.partition(":")
    branch, sep2, target = tail.rpartition(":")
    if not (sep and sep2):
        return None
    return source, branch or None, re.sub(r"#\d+$", "", target)


def unique_edge_ids(edges: list[StreamlitFlowEdge]) -> None:
    """Suffix ``#2``, ``#3`` to repeated ids (duplicate edges in a file), in place."""
    seen: dict[str, int] = {}
    for edge in edges:
        base = edge.id
        count = seen.get(base, 0) + 1
        seen[base] = count
        if count > 1:
            edge.id = f"{base}#{count}"
