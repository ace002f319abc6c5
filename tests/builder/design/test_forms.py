"""Forms generated from params models: fields, kinds, bounds, coercion and per-field errors."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any, Literal, get_args

import pytest
from pydantic import BaseModel, Field

from builder.design.canvas import default_params
from builder.design.forms import (
    FORM_ERROR,
    coerce_form_values,
    form_fields,
    initial_values,
)
from runtime.nodes import NodeType, get_node_type, node_types
from runtime.nodes.base import Priority
from runtime.spec import load_yaml

EXAMPLES = sorted((Path(__file__).parents[3] / "examples").glob("*.yaml"))
TYPES = list(node_types().items())
KINDS = {"text", "textarea", "number", "integer", "bool", "select", "list", "json"}


def _example_params() -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for path in EXAMPLES:
        for node in load_yaml(path).nodes:
            out.append((f"{path.stem}:{node.id}", node.type, node.params))
    return out


@pytest.mark.parametrize(("name", "ntype"), TYPES, ids=[n for n, _ in TYPES])
def test_every_field_of_every_type_is_in_its_form(name: str, ntype: NodeType) -> None:
    fields = form_fields(ntype.Params)
    assert [f.name for f in fields] == list(ntype.Params.model_fields)
    for f in fields:
        assert f.kind in KINDS
        assert f.help, f"{name}.{f.name} has no help text"
        assert f.label
        assert f.required == ntype.Params.model_fields[f.name].is_required()
        if f.kind == "select":
            assert f.options


@pytest.mark.parametrize(("name", "ntype"), TYPES, ids=[n for n, _ in TYPES])
def test_empty_form_reports_exactly_the_required_fields(name: str, ntype: NodeType) -> None:
    fields = form_fields(ntype.Params)
    params, errors = coerce_form_values(ntype.Params, {f.name: "" for f in fields})
    assert set(errors) == {f.name for f in fields if f.required}
    assert all(msg == "required" for msg in errors.values())
    if not errors:
        assert params == {}


@pytest.mark.parametrize(("name", "ntype"), TYPES, ids=[n for n, _ in TYPES])
def test_default_params_survive_the_form(name: str, ntype: NodeType) -> None:
    params = default_params(name, ref="intent")
    back, errors = coerce_form_values(ntype.Params, initial_values(ntype.Params, params))
    assert errors == {}
    assert ntype.Params.model_validate(back) == ntype.Params.model_validate(params)


@pytest.mark.parametrize(
    ("where", "type_name", "params"), _example_params(), ids=[w for w, _, _ in _example_params()]
)
def test_example_params_round_trip_through_the_form(
    where: str, type_name: str, params: dict[str, Any]
) -> None:
    model = get_node_type(type_name).Params
    back, errors = coerce_form_values(model, initial_values(model, params))
    assert errors == {}
    assert model.model_validate(back) == model.model_validate(params)


def test_literals_are_selects_with_their_options() -> None:
    fields = {f.name: f for f in form_fields(get_node_type("approval").Params)}
    assert fields["priority"].kind == "select"
    assert fields["priority"].options == list(get_args(Priority))
    assert fields["priority"].default == "normal"
    assert fields["on_timeout"].options == ["timeout", "approve", "reject", "escalate"]


def test_bounds_come_from_constraints() -> None:
    gate = {f.name: f for f in form_fields(get_node_type("confidence_gate").Params)}
    assert (gate["threshold"].kind, gate["threshold"].min, gate["threshold"].max) == (
        "number",
        0.0,
        1.0,
    )
    # threshold or target_error: one of the two (the gate's check), so neither is required
    assert not gate["threshold"].required and gate["threshold"].nullable
    assert (gate["target_error"].min, gate["target_error"].max) == (0.0, 1.0)
    assert gate["of"].is_node_ref
    feedback = {f.name: f for f in form_fields(get_node_type("feedback").Params)}
    revisions = feedback["max_revisions"]
    assert (revisions.kind, revisions.min, revisions.max, revisions.default) == (
        "integer",
        0,
        100,
        3,
    )
    assert isinstance(revisions.min, int)


def test_templates_and_expressions_are_flagged() -> None:
    approval = {f.name: f for f in form_fields(get_node_type("approval").Params)}
    assert approval["instructions"].is_template
    assert approval["instructions"].kind == "textarea"
    assert not approval["team"].is_template
    assert approval["team"].kind == "text"
    assert approval["team"].nullable
    when = form_fields(get_node_type("condition").Params)[0]
    assert (when.kind, when.is_expression, when.is_template) == ("textarea", True, False)
    values = {f.name: f for f in form_fields(get_node_type("set").Params)}["values"]
    assert (values.kind, values.is_template, values.default) == ("json", True, {})


def test_kinds_for_every_annotation() -> None:
    class Color(enum.Enum):
        RED = "red"
        BLUE = "blue"

    class Model(BaseModel):
        a: int = Field(1, description="a")
        b: float | None = Field(None, ge=0, lt=10, description="b")
        c: bool = Field(False, description="c")
        d: Literal["x", "y"] | None = Field(None, description="d")
        e: Color = Field(Color.RED, description="e")
        f: list[str] = Field(default_factory=list, description="f")
        g: dict[str, Any] = Field(default_factory=dict, description="g")
        h: list[dict[str, int]] = Field(default_factory=list, description="h")
        i: str = Field("", max_length=1000, description="i")
        j: str = Field("", description="j")

    kinds = {f.name: f.kind for f in form_fields(Model)}
    assert kinds == {
        "a": "integer",
        "b": "number",
        "c": "bool",
        "d": "select",
        "e": "select",
        "f": "list",
        "g": "json",
        "h": "json",
        "i": "textarea",
        "j": "text",
    }
    fields = {f.name: f for f in form_fields(Model)}
    assert (fields["b"].min, fields["b"].max, fields["b"].nullable) == (0, 10, True)
    assert fields["e"].options == ["red", "blue"]


def test_widget_values_are_parsed() -> None:
    model = get_node_type("approval").Params
    params, errors = coerce_form_values(
        model,
        {
            "instructions": "Check {{ item.amount }}",
            "team": "",  # empty optional: left out
            "priority": "high",
            "reason_codes": "too_much\n\n  duplicate  \n",
            "editable": ["amount"],
            "deadline": "4h",
        },
    )
    assert errors == {}
    assert params == {
        "instructions": "Check {{ item.amount }}",
        "priority": "high",
        "reason_codes": ["too_much", "duplicate"],
        "editable": ["amount"],
        "deadline": "4h",
    }
    gate = get_node_type("confidence_gate").Params
    params, errors = coerce_form_values(
        gate, {"of": "intent", "threshold": "0.75", "sample_rate": 0.1}
    )
    assert errors == {}
    assert params == {"of": "intent", "threshold": 0.75, "sample_rate": 0.1}
    writer = get_node_type("record_write").Params
    params, errors = coerce_form_values(
        writer,
        {"key": "{{ item.id }}", "values": "amount: '{{ item.amount }}'\nnote: hi", "merge": "no"},
    )
    assert errors == {}
    assert params == {
        "key": "{{ item.id }}",
        "values": {"amount": "{{ item.amount }}", "note": "hi"},
        "merge": False,
    }
    params, errors = coerce_form_values(writer, {"key": "k", "values": '{"a": 1}'})
    assert params["values"] == {"a": 1}


def test_defaults_are_left_out_of_params() -> None:
    model = get_node_type("approval").Params
    params, errors = coerce_form_values(model, initial_values(model, {}))
    assert errors == {}
    assert params == {}


def test_invalid_values_give_errors_at_their_field() -> None:
    gate = get_node_type("confidence_gate").Params
    _, errors = coerce_form_values(gate, {"of": "x", "threshold": "2", "sample_rate": "lots"})
    assert set(errors) == {"threshold", "sample_rate"}
    assert "less than or equal to 1" in errors["threshold"]
    assert "not a number" in errors["sample_rate"]

    approval = get_node_type("approval").Params
    _, errors = coerce_form_values(
        approval, {"priority": "extreme", "deadline": "soon", "bogus": "1"}
    )
    assert set(errors) == {"priority", "deadline", "bogus"}
    assert "duration" in errors["deadline"]
    assert not errors["deadline"].startswith("Value error")
    assert "unknown parameter" in errors["bogus"]

    feedback = get_node_type("feedback").Params
    _, errors = coerce_form_values(feedback, {"max_revisions": "1.5"})
    assert "whole number" in errors["max_revisions"]

    human = get_node_type("human_input").Params
    _, errors = coerce_form_values(human, {"form": "- name: a\n  type: [oops"})
    assert "YAML" in errors["form"]
    _, errors = coerce_form_values(human, {"form": "- name: a\n  type: colour"})
    assert errors["form"].startswith("0.type:")
    _, errors = coerce_form_values(human, {"form": "- {name: a}\n- {name: a}"})
    assert "unique" in errors["form"]

    switch = get_node_type("switch").Params
    _, errors = coerce_form_values(switch, {"value": "{{ item.x }}", "cases": "a\na"})
    assert "unique" in errors["cases"]
    assert FORM_ERROR not in errors
