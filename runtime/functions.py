"""Python functions that `function` nodes call by name: the escape hatch for developers.

Register with the decorator, or through the ``loopgate.functions`` entry-point group::

    from runtime.functions import register_function

    @register_function("score_lead")
    def score_lead(company: str, employees: int) -> dict:
        return {"score": min(employees / 100, 1.0)}

A function takes keyword arguments (the node's rendered ``args``) and returns a dict (the
node's output), or any JSON value (stored as ``{"result": value}``).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

_FUNCTIONS: dict[str, Callable[..., Any]] = {}
_loaded = False


def register_function(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: make a function callable from workflows as ``name``."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        _FUNCTIONS[name] = fn
        return fn

    return wrap


def get_function(name: str) -> Callable[..., Any] | None:
    """The registered function called ``name`` (entry points loaded on first use), or None."""
    global _loaded
    if not _loaded:
        _loaded = True
        for ep in entry_points(group="loopgate.functions"):
            _FUNCTIONS.setdefault(ep.name, ep.load())
    return _FUNCTIONS.get(name)


def function_names() -> list[str]:
    """Every registered function's name, sorted."""
    get_function("")
    return sorted(_FUNCTIONS)
