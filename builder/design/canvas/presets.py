"""The palette and what a freshly added node starts with: its required params filled in."""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel

from builder.design.forms import FieldSpec, form_fields
from runtime.nodes import get_node_type, node_types


def preset_params(type_name: str) -> dict[str, Any]:
    """The example values this type's new nodes start with (the type's ``example_params``;
    {} for an unknown type). A type without them gets generic placeholders from its params
    model (see default_params)."""
    ntype = get_node_type(type_name)
    return copy.deepcopy(ntype.example_params) if ntype is not None else {}


def placeholder(spec: FieldSpec, model: type[BaseModel], ref: str | None) -> Any:
    """A generic value for a required parameter, by its widget kind and flags.

    Args:
        spec: how the parameter is edited.
        model: the params model the parameter belongs to (for lists of sub-models).
        ref: a node id for parameters that name another node.

    Returns:
        A value of the parameter's shape; it need not be a sensible one.
    """
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
        return [{f.name: placeholder(f, item, ref) for f in form_fields(item) if f.required}]
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
    preset = preset_params(type_name)
    params: dict[str, Any] = {}
    for spec in form_fields(ntype.Params):
        if spec.required:
            value = preset.get(spec.name, placeholder(spec, ntype.Params, ref))
            if spec.is_node_ref and ref:
                value = ref
            params[spec.name] = copy.deepcopy(value)
        elif spec.name in preset and spec.nullable and spec.default is None:
            # An optional parameter the type's example sets (a gate's threshold: it needs
            # threshold or target_error, neither required on its own).
            params[spec.name] = copy.deepcopy(preset[spec.name])
    return params


def palette() -> dict[str, list[tuple[str, str, str]]]:
    """Every registered node type by family: ``(type_name, title, description)``."""
    out: dict[str, list[tuple[str, str, str]]] = {}
    for name, ntype in node_types().items():
        out.setdefault(ntype.family, []).append((name, ntype.title, ntype.description))
    return out
