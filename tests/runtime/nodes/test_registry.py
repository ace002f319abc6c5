"""The node registry and what every registered type must declare (cross-cutting checks)."""

from __future__ import annotations

import pkgutil
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

import runtime.nodes
from runtime.nodes import decision_actions, get_node_type, node_types
from runtime.nodes.base import FAMILY_ICONS, ReviewAction

CATALOGUE = {
    "trigger", "end", "condition", "switch", "set", "ai_classify", "ai_extract", "ai_generate",
    "approval", "confidence_gate", "escalation", "feedback", "human_input", "audit",
    "record_write", "record_delete", "notify", "webhook", "function",
}  # fmt: skip
TESTS = Path(__file__).parent


def _module(type_name: str) -> str:
    """The module of ``runtime.nodes`` that defines a built-in type (e.g. set_values)."""
    return type(node_types()[type_name]).__module__.rpartition(".")[2]


BUILT_IN = [n for n, t in node_types().items() if type(t).__module__.startswith("runtime.nodes.")]


def test_registry_has_the_catalogue():
    types = node_types()
    assert set(types) >= CATALOGUE
    families = [t.family for t in types.values()]
    order = {"flow": 0, "ai": 1, "checkpoint": 2, "action": 3}
    assert families == sorted(families, key=order.__getitem__)
    assert get_node_type("no_such_type") is None
    for name, t in types.items():
        assert t.type_name == name
        assert t.title and t.description
    humans = {n for n, t in types.items() if t.human}
    assert humans >= {"approval", "confidence_gate", "escalation", "feedback", "human_input"}
    assert not {"audit", "trigger", "record_delete", "record_write"} & humans


def test_every_node_module_registers_a_type():
    modules = {
        m.name
        for m in pkgutil.iter_modules(runtime.nodes.__path__)
        if m.name != "base" and not m.name.startswith("_")
    }
    assert modules == {_module(n) for n in BUILT_IN}


@pytest.mark.parametrize("type_name", BUILT_IN)
def test_every_node_type_has_its_own_test_file(type_name):
    """Adding a node type is one module in runtime/nodes plus tests/runtime/nodes/test_<it>.py."""
    path = TESTS / f"test_{_module(type_name)}.py"
    assert path.is_file(), f"node type {type_name!r} has no test file {path.relative_to(TESTS)}"


def _nested_models(annotation: Any) -> list[type[BaseModel]]:
    out = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        out.append(annotation)
    for arg in typing.get_args(annotation):
        out += _nested_models(arg)
    return out


@pytest.mark.parametrize("type_name", list(node_types()))
def test_params_forbid_extra_and_describe_every_field(type_name):
    params = node_types()[type_name].Params
    models, seen = [params], set()
    while models:
        model = models.pop()
        if model in seen:
            continue
        seen.add(model)
        assert model.model_config.get("extra") == "forbid", model.__name__
        for name, info in model.model_fields.items():
            assert info.description and info.description.strip(), f"{model.__name__}.{name}"
            models += _nested_models(info.annotation)
    with pytest.raises(ValueError, match="Extra inputs"):
        params.model_validate({"surely_not_a_param": 1})


# ---------------------------------------------------------------- the contract, every type


@pytest.mark.parametrize("type_name", BUILT_IN)
def test_every_built_in_type_declares_its_own_icon(type_name):
    cls = type(node_types()[type_name])
    assert "icon" in vars(cls), f"{cls.__name__} declares no icon"
    assert cls.icon.strip()


@pytest.mark.parametrize("type_name", list(node_types()))
def test_example_params_make_a_valid_node(type_name):
    """A freshly added node is valid, or misses only parameters naming another node."""
    ntype = node_types()[type_name]
    refs = {
        name
        for name, info in ntype.Params.model_fields.items()
        if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("node_ref")
    }
    try:
        ntype.Params.model_validate(ntype.example_params)
    except ValidationError as exc:
        missing = [(e["type"], e["loc"]) for e in exc.errors()]
        assert all(kind == "missing" and loc[0] in refs for kind, loc in missing), missing
    params = ntype.Params.model_validate({**ntype.example_params, **dict.fromkeys(refs, "other")})
    assert ntype.branches(params) is not None


def test_decision_actions_is_the_union_in_a_stable_order():
    assert decision_actions() == (
        "approve", "reject", "edit", "escalate", "submit", "accept", "revise", "choose",
    )  # fmt: skip
    every = {a for t in node_types().values() for a in t.decision_actions}
    assert set(decision_actions()) == every
    assert every <= set(typing.get_args(ReviewAction))


@pytest.mark.parametrize("type_name", list(node_types()))
def test_checkpoint_semantics_fit_together(type_name):
    ntype = node_types()[type_name]
    refs = {
        name: "other"
        for name, info in ntype.Params.model_fields.items()
        if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("node_ref")
    }
    params = ntype.Params.model_validate({**ntype.example_params, **refs})
    # Only people decide, and a person can always hand a review on.
    assert bool(ntype.decision_actions) == ntype.human
    if ntype.human:
        assert "escalate" in ntype.decision_actions
    # What a person chooses is a branch the node has, never timeout or error.
    person = ntype.person_branches(params)
    assert set(person) <= set(ntype.branches(params))
    assert not {"timeout", "error"} & set(person)
    assert bool(person) == ntype.human
    # Only a checkpoint that stops every item can guard, and only on a person's branch.
    assert ntype.guards_with(params) == ntype.guards
    assert not ntype.guards or ntype.human
    assert ntype.rates <= ntype.human
    for target in ntype.training_targets(params):
        assert isinstance(target, str)


def test_a_type_that_declares_no_icon_gets_its_familys():
    from runtime.nodes import NodeType

    class Plain(NodeType):
        type_name = "plain_for_test"
        family = "action"
        title = "Plain"
        description = "Not registered."

    class Odd(NodeType):
        type_name = "odd_for_test"
        family = "other"  # type: ignore[assignment]
        title = "Odd"
        description = "Not registered."

    assert Plain.icon == FAMILY_ICONS["action"] == "⚡"
    assert Odd.icon == "❔"
    assert get_node_type("plain_for_test") is None
