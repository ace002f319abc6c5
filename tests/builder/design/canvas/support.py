"""Helpers the canvas tests share: snapshots, the browser's round trip, node lookup."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit_flow.elements import StreamlitFlowEdge, StreamlitFlowNode
from streamlit_flow.state import StreamlitFlowState

from runtime.spec import WorkflowSpec

EXAMPLES = sorted((Path(__file__).parents[4] / "examples").glob("*.yaml"))


def strip_positions(spec: WorkflowSpec) -> WorkflowSpec:
    nodes = [n.model_copy(update={"position": None}) for n in spec.nodes]
    return spec.model_copy(update={"nodes": nodes})


def snapshot(state: StreamlitFlowState) -> str:
    return json.dumps(state.asdict(), sort_keys=True, default=str)


def through_browser(state: StreamlitFlowState) -> StreamlitFlowState:
    """What the component hands back: JSON through the browser, rebuilt with from_dict."""
    payload = json.loads(json.dumps(state.asdict()))
    return StreamlitFlowState(
        nodes=[StreamlitFlowNode.from_dict(n) for n in payload["nodes"]],
        edges=[StreamlitFlowEdge.from_dict(e) for e in payload["edges"]],
        selected_id=None,
        timestamp=state.timestamp + 5,
    )


def node_at(state: StreamlitFlowState, node_id: str) -> StreamlitFlowNode:
    return next(n for n in state.nodes if n.id == node_id)
