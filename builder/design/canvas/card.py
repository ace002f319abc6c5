"""How nodes and edges look on the canvas: label, colours, badges, problems, the test path."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import Any

from streamlit_flow.elements import StreamlitFlowEdge, StreamlitFlowNode
from streamlit_flow.state import StreamlitFlowState

from builder.design.canvas.state import (
    CONTENT,
    K_HIGHLIGHT,
    K_NAME,
    K_PARAMS,
    K_PROBLEMS,
    K_SENSITIVE,
    K_TYPE,
    edge_id,
)
from runtime.errors import Problem
from runtime.nodes import NodeType, get_node_type
from runtime.nodes.base import UNKNOWN_ICON

NODE_WIDTH = 170  # with 14 px text: readable (>= 11 px) at the canvas's minimum zoom

# family -> (border colour, background)
_FAMILIES: dict[str, tuple[str, str]] = {
    "flow": ("#64748b", "#f8fafc"),
    "ai": ("#7c3aed", "#f5f3ff"),
    "checkpoint": ("#d97706", "#fffbeb"),
    "action": ("#2563eb", "#eff6ff"),
}
_UNKNOWN_FAMILY = ("#9ca3af", "#f3f4f6")
_ERROR_RED = "#dc2626"
_WARNING_ORANGE = "#ea580c"
_PATH_GREEN = "#16a34a"

_MD_SPECIAL = re.compile(r"([\\`*_\[\]~|])")

# type -> the parameter its card shows; other types show their first non-empty parameter
KEY_PARAMS: dict[str, str] = {
    "condition": "when",
    "switch": "value",
    "end": "result",
    "set": "values",
    "ai_classify": "model",
    "ai_extract": "fields",
    "ai_generate": "template",
    "approval": "team",
    "choice": "team",
    "confidence_gate": "threshold",
    "escalation": "team",
    "feedback": "team",
    "human_input": "team",
    "audit": "category",
    "function": "name",
    "notify": "to",
    "record_delete": "table",
    "record_write": "table",
    "webhook": "url",
}
EDGE_LABEL_STYLE = {"fontSize": "13px", "fontWeight": 600, "fill": "#1f2937"}
EDGE_LABEL_BG = {"fill": "#ffffff", "fillOpacity": 0.95, "stroke": "#cbd5e1"}
KEY_PARAM_CHARS = 30  # a longer value is cut with an ellipsis


def node_icon(ntype: NodeType | None, type_name: str) -> str:
    """The icon a node's card shows: its type's declared icon (❔ for an unknown type)."""
    return UNKNOWN_ICON if ntype is None else ntype.icon


def escape_markdown(text: str) -> str:
    """User text made inert in the Markdown label (no HTML, no emphasis, one line)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text.replace("\n", " "))


def _short(value: Any) -> str:
    if isinstance(value, list | tuple):
        text = ", ".join(str(v) for v in value)
    elif isinstance(value, dict):
        text = ", ".join(f"{k}={v}" for k, v in value.items())
    else:
        text = str(value)
    text = " ".join(text.split())
    return text if len(text) <= KEY_PARAM_CHARS else text[: KEY_PARAM_CHARS - 1] + "…"


def key_param(data: dict[str, Any]) -> tuple[str, str] | None:
    """The parameter a node's card shows, as ``(name, short value)``; None when it has none.

    Args:
        data: the canvas node's ``data``.

    Returns:
        The type's key parameter (see ``KEY_PARAMS``) when it is set, else the first
        non-empty parameter; its value on one line, at most ``KEY_PARAM_CHARS`` characters.
    """
    params = data.get(K_PARAMS) or {}
    if not isinstance(params, dict):
        return None
    name = KEY_PARAMS.get(str(data.get(K_TYPE, "")))
    if name is None or params.get(name) in (None, "", [], {}):
        name = next((k for k, v in params.items() if v not in (None, "", [], {})), None)
    return None if name is None else (name, _short(params[name]))


def label(data: dict[str, Any], node_id: str) -> str:
    """A node's Markdown label: icon and name, type and id, and its badges.

    Args:
        data: the canvas node's ``data``.
        node_id: the node's id.

    Returns:
        Lines joined by Markdown line breaks.
    """
    type_name = str(data.get(K_TYPE, ""))
    ntype = get_node_type(type_name)
    title = ntype.title if ntype else f"unknown type {type_name}"
    name = data.get(K_NAME)
    lines = [f"{node_icon(ntype, type_name)} **{escape_markdown(name or node_id)}**"]
    lines.append(f"{escape_markdown(title)} · `{node_id}`" if name else escape_markdown(title))
    key = key_param(data)
    if key is not None:
        lines.append(f"{escape_markdown(key[0])}: {escape_markdown(key[1])}")
    badges = []
    if ntype is not None and ntype.family == "checkpoint":
        badges.append("⏸ **checkpoint**" if ntype.human else "🧾 logs, never stops")
    if data.get(K_SENSITIVE):
        badges.append("🔴 **sensitive**")
    problems = data.get(K_PROBLEMS) or []
    if problems:
        badges.append(f"⚠ {len(problems)}")
    if badges:
        lines.append(" · ".join(badges))
    return "  \n".join(lines)


def node_style(data: dict[str, Any]) -> dict[str, Any]:
    """A fresh style dict (the component's default one is shared between nodes).

    Args:
        data: the canvas node's ``data``.

    Returns:
        CSS properties: the family's colours, a thick border for checkpoints, red for errors,
        dashed orange for warnings or an unknown type, a red bar when sensitive, a green glow
        on the test path.
    """
    ntype = get_node_type(str(data.get(K_TYPE, "")))
    family = ntype.family if ntype else None
    color, background = _FAMILIES.get(family or "", _UNKNOWN_FAMILY)
    width, line = (4, "solid") if family == "checkpoint" else (2, "solid")
    if ntype is None:
        line = "dashed"
    problems = data.get(K_PROBLEMS) or []
    if any(p.get("severity") == "error" for p in problems):
        color, width = _ERROR_RED, max(width, 3)
    elif problems:
        color, line = _WARNING_ORANGE, "dashed"
    style: dict[str, Any] = {
        "width": NODE_WIDTH,
        "height": "auto",
        "background": background,
        "color": "#111827",
        "border": f"{width}px {line} {color}",
        "borderRadius": "8px",
        "padding": "6px 8px",
        "fontSize": "14px",
        "lineHeight": "1.3",
        "textAlign": "left",
        "overflowWrap": "anywhere",  # a long value wraps inside the card
    }
    if data.get(K_SENSITIVE):
        style["borderLeft"] = f"10px solid {_ERROR_RED}"
    if data.get(K_HIGHLIGHT):
        style["boxShadow"] = f"0 0 0 3px {_PATH_GREEN}, 0 0 18px 6px rgba(22, 163, 74, 0.55)"
    return style


def render(node: StreamlitFlowNode) -> None:
    """Set a node's label and style from its ``data``, in place."""
    node.data[CONTENT] = label(node.data, node.id)
    node.style = node_style(node.data)


def edge_style(on_path: bool) -> dict[str, Any]:
    """A fresh edge style: thick green on the test path, thin otherwise."""
    return {"stroke": _PATH_GREEN, "strokeWidth": 3} if on_path else {"strokeWidth": 1.5}


def make_node(node_id: str, pos: tuple[float, float], data: dict[str, Any]) -> StreamlitFlowNode:
    """A rendered canvas node.

    Args:
        node_id: its id.
        pos: its ``(x, y)`` position.
        data: its ``data`` (see :func:`builder.design.canvas.state.node_data`); kept, not copied.

    Returns:
        An ``input`` node for a trigger, ``output`` for an end, ``default`` otherwise, which
        Python deletes (never the browser).
    """
    type_name = data.get(K_TYPE)
    rf_type = "input" if type_name == "trigger" else "output" if type_name == "end" else "default"
    node = StreamlitFlowNode(
        id=node_id,
        pos=(float(pos[0]), float(pos[1])),
        data=data,
        node_type=rf_type,
        source_position="right",
        target_position="left",
        selectable=True,
        connectable=True,
        deletable=False,  # deletion goes through Python (pitfall 4)
        style={},
    )
    render(node)
    return node


def make_edge(source: str, target: str, branch: str | None) -> StreamlitFlowEdge:
    """A canvas edge from ``source``'s ``branch`` to ``target``, the branch as its label."""
    return StreamlitFlowEdge(
        id=edge_id(source, branch, target),
        source=source,
        target=target,
        edge_type="smoothstep",
        marker_start={},
        marker_end={"type": "arrowclosed"},
        label=branch or "",
        label_show_bg=True,
        label_style=dict(EDGE_LABEL_STYLE),
        label_bg_style=dict(EDGE_LABEL_BG),
        style=edge_style(False),
    )


def mark(
    state: StreamlitFlowState,
    problems: Iterable[Problem] | None,
    highlight: Sequence[str] | None,
    selected: str | None,
) -> None:
    """Set problems, path highlight and selection on ``state``'s nodes and edges, in place.

    Args:
        state: the state to change.
        problems: compiler problems; each node gets those that name it.
        highlight: node ids of a test run's path, in order.
        selected: the node to select; None keeps each node's selection.
    """
    by_node: dict[str, list[dict[str, Any]]] = {}
    for p in problems or []:
        if p.node:
            by_node.setdefault(p.node, []).append(
                {"message": p.message, "field": p.field, "severity": p.severity}
            )
    path = list(highlight or [])
    on_path = set(path)
    pairs = set(pairwise(path))
    for node in state.nodes:
        node.data[K_PROBLEMS] = by_node.get(node.id, [])
        node.data[K_HIGHLIGHT] = node.id in on_path
        if selected is not None:
            node.selected = node.id == selected
        render(node)
    for edge in state.edges:
        edge.animated = (edge.source, edge.target) in pairs
        edge.style = edge_style(edge.animated)
