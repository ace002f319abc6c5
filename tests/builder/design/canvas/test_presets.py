"""The palette and a new node's default params."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import BaseModel, Field
from streamlit_flow.state import StreamlitFlowState

from builder.design.canvas import add_node, branches_for, default_params, palette
from builder.design.canvas.presets import placeholder, preset_params
from builder.design.forms import form_fields
from runtime.nodes import NodeType, node_types
from runtime.spec import parse_spec


def test_default_params_are_valid_for_every_registered_type() -> None:
    for name, ntype in node_types().items():
        params = default_params(name, ref="intent")
        ntype.Params.model_validate(params)
        required = {k for k, f in ntype.Params.model_fields.items() if f.is_required()}
        # Plus what the example sets among optional parameters without a default (a gate
        # needs threshold or target_error, neither required alone: it starts with 0.8).
        extra = {"threshold"} if name == "confidence_gate" else set()
        assert set(params) == required | extra, name
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


def test_preset_params_are_examples_of_required_params() -> None:
    assert preset_params("confidence_gate") == {"threshold": 0.8}
    assert preset_params("approval") == {}
    # a preset fills required parameters only; the others keep their defaults
    assert preset_params("notify").keys() > default_params("notify").keys()
    assert default_params("notify") == {"to": "{{ item.email }}"}


def test_placeholder_by_widget_kind() -> None:
    class Row(BaseModel):
        name: str
        size: int = 1

    class Params(BaseModel):
        text: str
        count: int = Field(ge=2, le=10)
        ratio: float = Field(ge=0)
        flag: bool
        mode: Literal["a", "b"]
        tags: list[str]
        rows: list[Row]

    fields = {f.name: f for f in form_fields(Params)}
    values = {name: placeholder(spec, Params, "ref") for name, spec in fields.items()}
    assert values == {
        "text": "text",
        "count": 6,
        "ratio": 0,
        "flag": False,
        "mode": "a",
        "tags": ["tags_1"],
        "rows": [{"name": "name"}],
    }
