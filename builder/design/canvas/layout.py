"""Where nodes go: the layered layout and a free place for a new node."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence

from streamlit_flow.state import StreamlitFlowState

from builder.design.canvas.card import NODE_WIDTH
from builder.design.canvas.state import K_TYPE, copy_state, find_node

LAYER_GAP = 250.0  # x distance from a new node to the one it follows
ROW_GAP = 140.0  # y distance between nodes of one layer
MIN_LAYER_SPACE = 36.0  # room between two layers whose edges carry no label
LABEL_CHAR = 6.5  # an edge label's width per character (bold 10-12 px), plus its padding:
LABEL_PAD = 26.0


def label_room(text: str) -> float:
    """The horizontal room an edge label needs between two layers so it covers no node."""
    return MIN_LAYER_SPACE if not text else max(MIN_LAYER_SPACE, len(text) * LABEL_CHAR + LABEL_PAD)


def layered_positions(
    ids: Sequence[str],
    pairs: Sequence[tuple[str, str]],
    trigger: str | None,
    labels: Mapping[tuple[str, str], str] | None = None,
) -> dict[str, tuple[float, float]]:
    """BFS depth from the trigger -> x; order of discovery within a layer -> y (centred).

    Layers sit as close as their edges' labels allow: an edge's label is drawn halfway
    between its nodes, so the room between two layers is what their longest label needs.

    Args:
        ids: every node id, in order.
        pairs: ``(source, target)`` of every edge.
        trigger: the node to start from; nodes it does not reach start layers of their own.
        labels: the label of an edge ``(source, target)`` (its branch), when it has one.

    Returns:
        An ``(x, y)`` position for every id.
    """
    succ: dict[str, list[str]] = {i: [] for i in ids}
    indegree = dict.fromkeys(ids, 0)
    for source, target in pairs:
        if source in succ and target in succ and source != target:
            succ[source].append(target)
            indegree[target] += 1
    depth: dict[str, int] = {}
    layers: dict[int, list[str]] = {}
    roots = [trigger] if trigger in succ else []
    roots += [i for i in ids if indegree[i] == 0] + list(ids)
    for root in roots:
        if root in depth:
            continue
        depth[root] = 0
        queue = deque([root])
        while queue:
            current = queue.popleft()
            layers.setdefault(depth[current], []).append(current)
            for nxt in succ[current]:
                if nxt not in depth:
                    depth[nxt] = depth[current] + 1
                    queue.append(nxt)
    room = dict.fromkeys(layers, MIN_LAYER_SPACE)  # after each layer
    for (source, target), text in (labels or {}).items():
        if source in depth and target in depth and depth[target] == depth[source] + 1:
            room[depth[source]] = max(room[depth[source]], label_room(text))
    x_of, x = {}, 0.0
    for level in sorted(layers):
        x_of[level] = x
        x += NODE_WIDTH + room[level]
    positions = {}
    for level, members in layers.items():
        for row, node_id in enumerate(members):
            positions[node_id] = (x_of[level], (row - (len(members) - 1) / 2) * ROW_GAP)
    return positions


def _state_layout(state: StreamlitFlowState) -> dict[str, tuple[float, float]]:
    ids = [n.id for n in state.nodes]
    trigger = next((n.id for n in state.nodes if n.data.get(K_TYPE) == "trigger"), None)
    pairs = [(e.source, e.target) for e in state.edges]
    labels = {(e.source, e.target): e.label or "" for e in state.edges}
    return layered_positions(ids, pairs, trigger, labels)


def auto_layout(state: StreamlitFlowState) -> StreamlitFlowState:
    """Every node placed by the layered layout (a one-off action; the canvas stays Manual)."""
    new = copy_state(state)
    positions = _state_layout(new)
    for node in new.nodes:
        x, y = positions[node.id]
        node.position = {"x": x, "y": y}
    return new


def free_position(state: StreamlitFlowState, after: str | None) -> tuple[float, float]:
    """Right of ``after`` if it is a node, else below everything; moved down until free.

    Args:
        state: the canvas state.
        after: the node to place next to, or None.

    Returns:
        An ``(x, y)`` position no node is near.
    """
    taken = [(float(n.position["x"]), float(n.position["y"])) for n in state.nodes]
    anchor = find_node(state, after) if after else None
    if anchor is not None:
        x, y = float(anchor.position["x"]) + LAYER_GAP, float(anchor.position["y"])
    elif taken:
        x, y = min(t[0] for t in taken), max(t[1] for t in taken) + ROW_GAP
    else:
        x, y = 0.0, 0.0
    while any(abs(tx - x) < LAYER_GAP / 2 and abs(ty - y) < ROW_GAP / 2 for tx, ty in taken):
        y += ROW_GAP
    return x, y
