"""Loopgate's core: workflow specs, node types, the compiler, the durable engine and the store.

The Python API in a few lines::

    from runtime import Engine, Store, load_yaml

    engine = Engine(Store("loopgate.duckdb"))
    run = engine.start(load_yaml("examples/expense-approval.yaml"), {"employee": "bob", ...})
    engine.decide(run.review_id, {"action": "approve"}, by="mia")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runtime.compiler import Workflow, check, compile_workflow
    from runtime.engine import BatchItemError, Engine, RunResult, SweepReport
    from runtime.errors import (
        AccessError,
        DatabaseLockedError,
        DecisionError,
        ItemError,
        LoopgateError,
        NotFoundError,
        Problem,
        ReviewNotPendingError,
        RunError,
        SpecError,
        StoreError,
    )
    from runtime.nodes.base import Decision
    from runtime.spec import WorkflowSpec, load_yaml, loads_yaml, parse_spec
    from runtime.store import Store

# Where each name of the Python API lives. They are imported on first use (PEP 562), so
# that importing any ``runtime.X`` (the CLI's read commands, say) does not pay for the
# compiler, the engine, networkx and the store.
_LAZY: dict[str, str] = {
    **dict.fromkeys(["Workflow", "check", "compile_workflow"], "runtime.compiler"),
    **dict.fromkeys(["BatchItemError", "Engine", "RunResult", "SweepReport"], "runtime.engine"),
    **dict.fromkeys(
        [
            "AccessError",
            "DatabaseLockedError",
            "DecisionError",
            "ItemError",
            "LoopgateError",
            "NotFoundError",
            "Problem",
            "ReviewNotPendingError",
            "RunError",
            "SpecError",
            "StoreError",
        ],
        "runtime.errors",
    ),
    "Decision": "runtime.nodes.base",
    **dict.fromkeys(["WorkflowSpec", "load_yaml", "loads_yaml", "parse_spec"], "runtime.spec"),
    "Store": "runtime.store",
}


def __getattr__(name: str) -> Any:
    """Import a name of the Python API from its module on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'runtime' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's names, the lazily imported ones included."""
    return sorted({*globals(), *_LAZY})


def open_engine(path: str | None = None, *, wait: float = 0.0) -> Engine:
    """An engine on a database file (default: $LOOPGATE_DB or ./loopgate.duckdb)."""
    from runtime.engine import Engine
    from runtime.services import default_services
    from runtime.settings import default_db_path
    from runtime.store import Store

    store = Store(path or default_db_path(), wait=wait)
    return Engine(store, services=default_services(store))


__all__ = [
    "AccessError",
    "BatchItemError",
    "DatabaseLockedError",
    "Decision",
    "DecisionError",
    "Engine",
    "ItemError",
    "LoopgateError",
    "NotFoundError",
    "Problem",
    "ReviewNotPendingError",
    "RunError",
    "RunResult",
    "SpecError",
    "Store",
    "StoreError",
    "SweepReport",
    "Workflow",
    "WorkflowSpec",
    "check",
    "compile_workflow",
    "load_yaml",
    "loads_yaml",
    "open_engine",
    "parse_spec",
]
