"""The palette and a new node's default params."""

from __future__ import annotations

import pytest
from streamlit_flow.state import StreamlitFlowState

from builder.design.canvas import add_node, branches_for, default_params, palette
from runtime.nodes import NodeType, node_types
from runtime.spec import parse_spec


def test_default_params_are_valid_for_every_registered_type() -> None:
    for name, ntype in node_types().items():
        params = default_params(name, ref="intent")
        ntype.Params.model_validate(params)
        required = {k for k, f in ntype.Params.model_fields.items() if f.is_required()}
        assert set(params) == required, name
    assert default_params("condition") == {"when": "true"}
    with pytest.raises(ValueError, match="unknown node type"):
        default_params("nope")


def test_palette_lists_every_registered_type_by_family(monkeypatch) -> None:
    pal = palette()
    listed = {name: family for family, items in pal.items() for name, _, _ in items}
    assert listed == {name: t.family for name, t in node_types().items()}
    assert ("approval", "Approval", node_types()["approval"].description) in pal["checkpoint"]

    class Teleport(NodeType):
        type_name = "teleport"
        family = "action"
        title = "Teleport"
        description = "Moves an item somewhere else."

    from runtime import nodes

    monkeypatch.setitem(nodes._REGISTRY, "teleport", Teleport())
    assert ("teleport", "Teleport", "Moves an item somewhere else.") in palette()["action"]
    state, node_id = add_node(
        StreamlitFlowState([], []), parse_spec({"id": "x", "name": "X"}), "teleport"
    )
    assert node_id == "teleport_1"
    assert branches_for(state, node_id) == ["next"]
