"""Loopgate's core: workflow specs, node types, the compiler, the durable engine and the store.

The Python API in a few lines::

    from runtime import Engine, Store, load_yaml

    engine = Engine(Store("loopgate.duckdb"))
    run = engine.start(load_yaml("examples/expense-approval.yaml"), {"employee": "bob", ...})
    engine.decide(run.review_id, {"action": "approve"}, by="mia")
"""

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


def open_engine(path: str | None = None, *, wait: float = 0.0) -> Engine:
    """An engine on a database file (default: $LOOPGATE_DB or ./loopgate.duckdb)."""
    from runtime.services import default_services
    from runtime.settings import default_db_path

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
