"""The node registry: every module in this package registers its node type on import."""

from __future__ import annotations

import importlib
import pkgutil
from importlib.metadata import entry_points
from typing import TypeVar, get_args

from runtime.nodes.base import (
    ERROR_BRANCH,
    NEXT_BRANCH,
    Continue,
    Decision,
    Fail,
    FormField,
    NodeParams,
    NodeType,
    Outcome,
    PendingReview,
    ReviewAction,
    ReviewRequest,
    RunContext,
    TimeoutPolicy,
    Wait,
    default_branch,
)

_T = TypeVar("_T", bound=type[NodeType])
_REGISTRY: dict[str, NodeType] = {}
_LOADED = False


def register(cls: _T) -> _T:
    """Class decorator: make a node type available under its ``type_name``.

    Adding a node type is one module here (a :class:`NodeType` subclass decorated with
    ``@register``) plus its tests in ``tests/runtime/nodes/test_<module>.py``. Third-party
    node types register through the ``loopgate.nodes`` entry-point group, or by calling
    this before compiling a workflow.

    Args:
        cls: a :class:`NodeType` subclass; one instance of it is registered.

    Returns:
        The class itself, unchanged.
    """
    _REGISTRY[cls.type_name] = cls()
    return cls


def _load() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    for info in pkgutil.iter_modules(__path__):
        if info.name != "base" and not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
    for ep in entry_points(group="loopgate.nodes"):
        ep.load()


def get_node_type(name: str) -> NodeType | None:
    """The registered node type called ``name``.

    Args:
        name: a ``type_name`` such as ``approval``.

    Returns:
        The registered instance, or None when no type has that name.
    """
    _load()
    return _REGISTRY.get(name)


def node_types() -> dict[str, NodeType]:
    """Every registered node type by name, in family then name order.

    Returns:
        ``{type_name: instance}``, flow first, then AI, checkpoints and actions.
    """
    _load()
    order = {"flow": 0, "ai": 1, "checkpoint": 2, "action": 3}
    return dict(sorted(_REGISTRY.items(), key=lambda kv: (order.get(kv[1].family, 9), kv[0])))


def decision_actions() -> tuple[ReviewAction, ...]:
    """Every action a person may take at some registered node type (e.g. for ``--action``).

    Returns:
        The union of every type's :attr:`NodeType.decision_actions`, in the order of
        :data:`ReviewAction` (approve, reject, edit, escalate, submit, accept, revise).
    """
    used = {a for t in node_types().values() for a in t.decision_actions}
    return tuple(a for a in get_args(ReviewAction) if a in used)


__all__ = [
    "ERROR_BRANCH",
    "NEXT_BRANCH",
    "Continue",
    "Decision",
    "Fail",
    "FormField",
    "NodeParams",
    "NodeType",
    "Outcome",
    "PendingReview",
    "ReviewAction",
    "ReviewRequest",
    "RunContext",
    "TimeoutPolicy",
    "Wait",
    "decision_actions",
    "default_branch",
    "get_node_type",
    "node_types",
    "register",
]
