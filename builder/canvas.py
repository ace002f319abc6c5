"""A WorkflowSpec as a streamlit-flow canvas state and back, plus pure editing helpers.

Nothing here calls Streamlit. A helper that changes something returns a new state (the input
is not changed) whose ``timestamp`` is newer than the input's, because the browser ignores
older states; one that changes nothing returns its input.
Our node type and parameters travel in each node's ``data`` under the ``lg_*`` keys; an
edge's branch travels in its label (and in its id, ``lg:<source>:<branch>:<target>``).
"""

from __future__ import annotations

import copy
import re
import time
from collections import deque
from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import Any

from pydantic import BaseModel, ValidationError
from streamlit_flow.elements import StreamlitFlowEdge, StreamlitFlowNode
from streamlit_flow.state import StreamlitFlowState

from builder.forms import FieldSpec, form_fields
from runtime.errors import Problem
from runtime.nodes import NodeType, get_node_type, node_types
from runtime.spec import ID_PATTERN, NodeSpec, WorkflowSpec, parse_spec

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
LAYER_GAP = 270.0  # x distance between layers of the automatic layout
ROW_GAP = 150.0  # y distance between nodes of one layer
NODE_WIDTH = 210

# family -> (border colour, background, icon)
_FAMILIES: dict[str, tuple[str, str, str]] = {
    "flow": ("#64748b", "#f8fafc", "🔀"),
    "ai": ("#7c3aed", "#f5f3ff", "🤖"),
    "checkpoint": ("#d97706", "#fffbeb", "✋"),
    "action": ("#2563eb", "#eff6ff", "⚡"),
}
_UNKNOWN_FAMILY = ("#9ca3af", "#f3f4f6", "❔")
_TYPE_ICONS = {"trigger": "▶️", "end": "🏁"}
_ERROR_RED = "#dc2626"
_WARNING_ORANGE = "#ea580c"
_PATH_GREEN = "#16a34a"

# Sensible values for required parameters of a freshly added node, per type. A type missing
# here gets generic placeholders from its params model (see default_params).
_PLACEHOLDERS: dict[str, dict[str, Any]] = {
    "condition": {"when": "true"},
    "switch": {"value": "{{ item.category }}", "cases": ["case_1"]},
    "escalation": {"when": "true", "team": "reviewers"},
    "confidence_gate": {"threshold": 0.8},
    "human_input": {"form": [{"name": "details", "type": "text", "required": True}]},
    "record_write": {"key": "{{ item.id }}"},
    "record_delete": {"key": "{{ item.id }}"},
    "ai_classify": {"text": "{{ item.text }}"},
    "ai_extract": {"text": "{{ item.text }}", "fields": ["amount"]},
    "ai_generate": {"template": "Hello {{ item.name }}"},
    "notify": {"to": "{{ item.email }}", "subject": "Update", "body": "Hello"},
    "webhook": {"url": "http://127.0.0.1:9000/hook"},
    "function": {"name": "my_function"},
}


# ---------------------------------------------------------------- small helpers


def _now_ms() -> int:
    return int(time.time() * 1000)


def _newer(timestamp: int | float | None) -> int:
    """A timestamp later than ``timestamp`` (which may come from the browser's clock)."""
    return max(_now_ms(), int(timestamp or 0) + 1)


def _copy(state: StreamlitFlowState) -> StreamlitFlowState:
    """A deep copy with a newer timestamp: what every changing helper returns."""
    return StreamlitFlowState(
        nodes=copy.deepcopy(state.nodes),
        edges=copy.deepcopy(state.edges),
        selected_id=state.selected_id,
        timestamp=_newer(state.timestamp),
    )


def _find(state: StreamlitFlowState, node_id: str) -> StreamlitFlowNode | None:
    return next((n for n in state.nodes if n.id == node_id), None)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]~|])")


def _esc(text: str) -> str:
    """User text made inert in the Markdown label."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text.replace("\n", " "))


def edge_id(source: str, branch: str | None, target: str) -> str:
    """The deterministic id of the edge from ``source``'s ``branch`` to ``target``."""
    return f"{EDGE_PREFIX}{source}:{branch or ''}:{target}"


def parse_edge_id(value: str) -> tuple[str, str | None, str] | None:
    """``(source, branch, target)`` from an id made by :func:`edge_id`, else None.

    Node ids cannot hold ``:``, so a branch may (switch cases are free text).
    """
    if not value.startswith(EDGE_PREFIX):
        return None
    rest = value[len(EDGE_PREFIX) :]
    source, sep, tail = rest.partition(":")
    branch, sep2, target = tail.rpartition(":")
    if not (sep and sep2):
        return None
    return source, branch or None, re.sub(r"#\d+$", "", target)


def _unique_edge_ids(edges: list[StreamlitFlowEdge]) -> None:
    """Suffix ``#2``, ``#3`` to repeated ids (duplicate edges in a file), in place."""
    seen: dict[str, int] = {}
    for edge in edges:
        base = edge.id
        count = seen.get(base, 0) + 1
        seen[base] = count
        if count > 1:
            edge.id = f"{base}#{count}"


# ---------------------------------------------------------------- branches and params


def _strict_branches(type_name: str, params: dict[str, Any]) -> list[str] | None:
    """The branches for these params, or None when the type is unknown or params invalid."""
    ntype = get_node_type(type_name)
    if ntype is None:
        return None
    try:
        return list(ntype.branches(ntype.Params.model_validate(params)))
    except ValidationError:
        return None


def _default_branches(ntype: NodeType) -> list[str]:
    try:
        return list(ntype.branches(ntype.Params.model_validate(default_params(ntype.type_name))))
    except ValidationError:
        return []


def _placeholder(spec: FieldSpec, model: type[BaseModel], ref: str | None) -> Any:
    """A generic value for a required parameter, by its widget kind and flags."""
    if spec.is_expression:
        return "true"
    if spec.is_node_ref:
        return ref or ""
    if spec.kind == "select" and spec.options:
        return spec.options[0]
    if spec.kind == "bool":
        return False
    if spec.kind in ("number", "integer"):
        if spec.min is not None and spec.max is not None:
            mid = (spec.min + spec.max) / 2
            return int(mid) if spec.kind == "integer" else mid
        return spec.min if spec.min is not None else 0
    if spec.kind in ("text", "textarea"):
        return "{{ item }}" if spec.is_template else spec.name
    if spec.kind == "list":
        return [f"{spec.name}_1"]
    annotation = model.model_fields[spec.name].annotation
    item = getattr(annotation, "__args__", (None,))[0]
    if isinstance(item, type) and issubclass(item, BaseModel):
        return [{f.name: _placeholder(f, item, ref) for f in form_fields(item) if f.required}]
    return {}


def default_params(type_name: str, *, ref: str | None = None) -> dict[str, Any]:
    """The minimum params of a new node: its required parameters filled with placeholders.

    Args:
        type_name: a registered node type.
        ref: a node id for parameters that name another node (e.g. a gate's ``of``).

    Returns:
        Params that validate against the type's model where a placeholder can make them
        valid; optional parameters are left to their defaults.

    Raises:
        ValueError: for an unregistered type.
    """
    ntype = get_node_type(type_name)
    if ntype is None:
        raise ValueError(f"unknown node type {type_name!r}; known: {', '.join(node_types())}")
    preset = _PLACEHOLDERS.get(type_name, {})
    params: dict[str, Any] = {}
    for spec in form_fields(ntype.Params):
        if spec.required:
            value = preset.get(spec.name, _placeholder(spec, ntype.Params, ref))
            if spec.is_node_ref and ref:
                value = ref
            params[spec.name] = copy.deepcopy(value)
    return params


def branches_for(state: StreamlitFlowState, node_id: str) -> list[str]:
    """The branches a canvas node can take, from the registry and its current params.

    Falls back to the type's branches with default params when the params are invalid,
    and gives [] for an unknown node or type.
    """
    node = _find(state, node_id)
    if node is None:
        return []
    type_name = str(node.data.get(K_TYPE, ""))
    strict = _strict_branches(type_name, node.data.get(K_PARAMS) or {})
    if strict is not None:
        return strict
    ntype = get_node_type(type_name)
    return _default_branches(ntype) if ntype else []


def palette() -> dict[str, list[tuple[str, str, str]]]:
    """Every registered node type by family: ``(type_name, title, description)``."""
    out: dict[str, list[tuple[str, str, str]]] = {}
    for name, ntype in node_types().items():
        out.setdefault(ntype.family, []).append((name, ntype.title, ntype.description))
    return out


# ---------------------------------------------------------------- rendering


def _icon(ntype: NodeType | None, type_name: str) -> str:
    if ntype is None:
        return _UNKNOWN_FAMILY[2]
    own = getattr(ntype, "icon", None)
    return own or _TYPE_ICONS.get(type_name) or _FAMILIES.get(ntype.family, _UNKNOWN_FAMILY)[2]


def _label(data: dict[str, Any], node_id: str) -> str:
    type_name = str(data.get(K_TYPE, ""))
    ntype = get_node_type(type_name)
    title = ntype.title if ntype else f"unknown type {type_name}"
    name = data.get(K_NAME)
    lines = [f"{_icon(ntype, type_name)} **{_esc(name or node_id)}**"]
    lines.append(f"{_esc(title)} · `{node_id}`" if name else _esc(title))
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


def _style(data: dict[str, Any]) -> dict[str, Any]:
    """A fresh style dict (the component's default one is shared between nodes)."""
    ntype = get_node_type(str(data.get(K_TYPE, "")))
    family = ntype.family if ntype else None
    color, background, _ = _FAMILIES.get(family or "", _UNKNOWN_FAMILY)
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
        "fontSize": "12px",
        "textAlign": "left",
    }
    if data.get(K_SENSITIVE):
        style["borderLeft"] = f"10px solid {_ERROR_RED}"
    if data.get(K_HIGHLIGHT):
        style["boxShadow"] = f"0 0 0 3px {_PATH_GREEN}, 0 0 18px 6px rgba(22, 163, 74, 0.55)"
    return style


def _render(node: StreamlitFlowNode) -> None:
    node.data[CONTENT] = _label(node.data, node.id)
    node.style = _style(node.data)


def _edge_style(on_path: bool) -> dict[str, Any]:
    return {"stroke": _PATH_GREEN, "strokeWidth": 3} if on_path else {"strokeWidth": 1.5}


def _make_node(node_id: str, pos: tuple[float, float], data: dict[str, Any]) -> StreamlitFlowNode:
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
    _render(node)
    return node


def _make_edge(source: str, target: str, branch: str | None) -> StreamlitFlowEdge:
    return StreamlitFlowEdge(
        id=edge_id(source, branch, target),
        source=source,
        target=target,
        edge_type="smoothstep",
        marker_start={},
        marker_end={"type": "arrowclosed"},
        label=branch or "",
        label_show_bg=True,
        label_style={},
        label_bg_style={},
        style=_edge_style(False),
    )


def _node_data(node: NodeSpec) -> dict[str, Any]:
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


def _apply(
    state: StreamlitFlowState,
    problems: Iterable[Problem] | None,
    highlight: Sequence[str] | None,
    selected: str | None,
) -> None:
    """Set problems, path highlight and selection on ``state``'s nodes and edges, in place."""
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
        _render(node)
    for edge in state.edges:
        edge.animated = (edge.source, edge.target) in pairs
        edge.style = _edge_style(edge.animated)


# ---------------------------------------------------------------- layout


def _layered_positions(
    ids: Sequence[str], pairs: Sequence[tuple[str, str]], trigger: str | None
) -> dict[str, tuple[float, float]]:
    """BFS depth from the trigger -> x; order of discovery within a layer -> y (centred)."""
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
    positions = {}
    for level, members in layers.items():
        for row, node_id in enumerate(members):
            positions[node_id] = (level * LAYER_GAP, (row - (len(members) - 1) / 2) * ROW_GAP)
    return positions


def _state_layout(state: StreamlitFlowState) -> dict[str, tuple[float, float]]:
    ids = [n.id for n in state.nodes]
    trigger = next((n.id for n in state.nodes if n.data.get(K_TYPE) == "trigger"), None)
    return _layered_positions(ids, [(e.source, e.target) for e in state.edges], trigger)


def auto_layout(state: StreamlitFlowState) -> StreamlitFlowState:
    """Every node placed by the layered layout (a one-off action; the canvas stays Manual)."""
    new = _copy(state)
    positions = _state_layout(new)
    for node in new.nodes:
        x, y = positions[node.id]
        node.position = {"x": x, "y": y}
    return new


def _free_position(state: StreamlitFlowState, after: str | None) -> tuple[float, float]:
    """Right of ``after`` if it is a node, else below everything; moved down until free."""
    taken = [(float(n.position["x"]), float(n.position["y"])) for n in state.nodes]
    anchor = _find(state, after) if after else None
    if anchor is not None:
        x, y = float(anchor.position["x"]) + LAYER_GAP, float(anchor.position["y"])
    elif taken:
        x, y = min(t[0] for t in taken), max(t[1] for t in taken) + ROW_GAP
    else:
        x, y = 0.0, 0.0
    while any(abs(tx - x) < LAYER_GAP / 2 and abs(ty - y) < ROW_GAP / 2 for tx, ty in taken):
        y += ROW_GAP
    return x, y


# ---------------------------------------------------------------- spec <-> state


def spec_to_state(
    spec: WorkflowSpec,
    *,
    problems: Iterable[Problem] | None = None,
    highlight: Sequence[str] | None = None,
    selected: str | None = None,
    previous: StreamlitFlowState | None = None,
) -> StreamlitFlowState:
    """The canvas state showing ``spec``.

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
    auto = _layered_positions(
        [n.id for n in spec.nodes], [(e.source, e.target) for e in spec.edges], trigger
    )
    nodes = [_make_node(n.id, n.position or auto[n.id], _node_data(n)) for n in spec.nodes]
    edges = [_make_edge(e.source, e.target, e.branch) for e in spec.edges]
    _unique_edge_ids(edges)
    timestamp = _newer(previous.timestamp) if previous is not None else _now_ms()
    state = StreamlitFlowState(nodes=nodes, edges=edges, selected_id=selected, timestamp=timestamp)
    _apply(state, problems, highlight, selected if selected is not None else "")
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
    """
    new = _copy(state)
    _apply(new, problems, highlight, selected)
    same = [n.asdict() for n in new.nodes] == [n.asdict() for n in state.nodes] and [
        e.asdict() for e in new.edges
    ] == [e.asdict() for e in state.edges]
    return state if same else new


def _edge_branch(edge: StreamlitFlowEdge, source: StreamlitFlowNode | None) -> str | None:
    """The branch an edge stands for: its label, if that is a branch of the source."""
    label = (edge.label or "").strip()
    if not label:
        return None
    if source is None:
        return label
    allowed = _strict_branches(str(source.data.get(K_TYPE, "")), source.data.get(K_PARAMS) or {})
    if allowed is None:  # unknown type or invalid params: cannot judge, keep the label
        return label
    return label if label in allowed else None


def state_to_spec(state: StreamlitFlowState, base: WorkflowSpec) -> WorkflowSpec:
    """The workflow a canvas state shows.

    Workflow-level fields (id, name, description, input, max_steps) come from ``base``; nodes
    from the canvas nodes' ``data`` and positions; edges from source, target and label. A label
    that is empty, or not a branch of its source, gives ``branch: None`` so the compiler names
    the edge. Nodes without ``lg_type`` (made by the component's own pane menu) are left out,
    with their edges.

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
        {"from": e.source, "to": e.target, "branch": _edge_branch(e, ours.get(e.source))}
        for e in state.edges
        if e.source not in foreign and e.target not in foreign
    ]
    data = base.model_dump(mode="python", by_alias=True, exclude={"nodes", "edges"})
    return parse_spec({**data, "nodes": nodes, "edges": edges})


# ---------------------------------------------------------------- editing helpers


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
    if _find(state, node_id) is not None:
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
    anchor = anchor if anchor and _find(state, anchor) is not None else None
    spec = NodeSpec(id=node_id, type=type_name, params=default_params(type_name, ref=anchor))
    new = _copy(state)
    new.nodes.append(_make_node(node_id, _free_position(state, anchor), _node_data(spec)))
    return new, node_id


def delete_node(state: StreamlitFlowState, node_id: str) -> StreamlitFlowState:
    """Remove a node and every edge into or out of it (no change if it is not there)."""
    if _find(state, node_id) is None:
        return state
    new = _copy(state)
    new.nodes = [n for n in new.nodes if n.id != node_id]
    new.edges = [e for e in new.edges if node_id not in (e.source, e.target)]
    if new.selected_id == node_id:
        new.selected_id = None
    return new


def delete_edge(state: StreamlitFlowState, edge_id: str) -> StreamlitFlowState:
    """Remove one edge by id (no change if it is not there)."""
    if not any(e.id == edge_id for e in state.edges):
        return state
    new = _copy(state)
    new.edges = [e for e in new.edges if e.id != edge_id]
    return new


def connect(
    state: StreamlitFlowState, source: str, target: str, branch: str | None
) -> StreamlitFlowState:
    """Lead ``source``'s ``branch`` to ``target``.

    One branch leads to one node, so an edge of the same source and branch is replaced (in
    place, keeping the edge order), and so are unlabelled edges from source to target (drawn
    in the browser, waiting for their branch). ``branch=None`` means the source's only branch.

    Raises:
        ValueError: a missing node, or a branch the source does not have.
    """
    for node_id in (source, target):
        if _find(state, node_id) is None:
            raise ValueError(f"no node {node_id!r} on the canvas")
    branch = branch or None
    options = branches_for(state, source)
    if not options and get_node_type(str(_find(state, source).data.get(K_TYPE, ""))):
        raise ValueError(f"{source} has no branches: nothing can leave it")
    if branch is None and len(options) > 1:
        raise ValueError(f"{source} needs a branch: one of {', '.join(options)}")
    if branch is not None and options and branch not in options:
        raise ValueError(f"{source} has no branch {branch!r}; its branches: {', '.join(options)}")
    only = options[0] if len(options) == 1 else None

    def effective(label: str | None) -> str | None:
        return (label or None) or only

    new = _copy(state)
    edge = _make_edge(source, target, branch)
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
    _unique_edge_ids(new.edges)
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

    Raises:
        KeyError: no such node.
        ValueError: an invalid or taken ``new_id``.
    """
    if _find(state, node_id) is None:
        raise KeyError(f"no node {node_id!r} on the canvas")
    if new_id is not None and new_id != node_id:
        _check_new_id(new_id, state)
    new = _copy(state)
    node = _find(new, node_id)
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
        _unique_edge_ids(new.edges)
        if new.selected_id == node_id:
            new.selected_id = new_id
    _render(node)
    return new


def new_edges_without_branch(state: StreamlitFlowState) -> list[str]:
    """Ids of edges whose branch the page must ask for.

    These are edges without a label from a node with more than one branch (drawn in the
    browser), and edges whose label is not (or no longer) one of the source's branches.
    An unlabelled edge from a node with exactly one branch needs nothing.
    """
    out = []
    for e in state.edges:
        options = branches_for(state, e.source)
        label = (e.label or "").strip()
        if (not label and len(options) > 1) or (label and options and label not in options):
            out.append(e.id)
    return out
