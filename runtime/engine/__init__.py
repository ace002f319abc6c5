"""The engine: starts runs, pauses them durably at checkpoints, resumes them on decisions."""

from runtime.engine.executor import InlineExecutor, NodeExecutor, ThreadPoolNodeExecutor
from runtime.engine.facade import Engine
from runtime.engine.results import (
    BatchItemError,
    DecisionReceipt,
    Progress,
    RunResult,
    SweepReport,
)

__all__ = [
    "BatchItemError",
    "DecisionReceipt",
    "Engine",
    "InlineExecutor",
    "NodeExecutor",
    "Progress",
    "RunResult",
    "SweepReport",
    "ThreadPoolNodeExecutor",
]
