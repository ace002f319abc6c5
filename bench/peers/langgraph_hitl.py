"""LangGraph side of the Loopgate human-in-the-loop benchmark.

The workflow is ``trigger -> classify -> gate -> act -> end``:

* **trigger**: ``graph.invoke({"id": ..., "text": ...}, config)``, i.e. the
  graph's ``START`` edge fed with one item, on its own ``thread_id``.
* **classify**: :func:`classify_text`, a cheap deterministic hash of the text.
* **gate**: pauses with :func:`langgraph.types.interrupt` when the confidence
  is below :data:`CONFIDENCE_THRESHOLD`; a human answers with
  ``Command(resume={"action": "approve"})``.
* **act**: writes a small record ``{"key": id, "label": label}`` into the
  state.

Persistence is :class:`langgraph.checkpoint.sqlite.SqliteSaver` on a real
file, and every ``invoke`` runs with ``durability="sync"`` so each step is on
disk before the next one starts (the closest match to Loopgate's guarantee).

:func:`make_items` and :func:`classify_text` are shared with Loopgate's side
of the benchmark so both systems see the same items and the same labels.

Run ``python bench/peers/langgraph_hitl.py --items 1000`` to print the
metrics.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any, TypedDict

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

LABELS: tuple[str, ...] = ("refund", "billing", "technical")
"""Labels :func:`classify_text` chooses from."""

CONFIDENCE_THRESHOLD = 0.8
"""Items classified below this confidence pause at the gate."""

_SUBJECTS = (
    "my order",
    "the invoice",
    "my subscription",
    "the app",
    "my account",
    "the last payment",
    "the delivery",
    "the login page",
    "my card",
    "the export",
)
_PROBLEMS = (
    "was charged twice",
    "never arrived",
    "crashes on startup",
    "shows the wrong amount",
    "cannot be cancelled",
    "keeps timing out",
    "was refused",
    "is missing a line",
    "arrived damaged",
    "logs me out every hour",
)
_ASKS = (
    "Please refund me.",
    "Can you fix this?",
    "What should I do?",
    "I want my money back.",
    "Please advise.",
    "Is this a known bug?",
    "Can someone call me?",
    "",
)


class ItemState(TypedDict, total=False):
    """State carried through the graph for one item.

    Attributes:
        id: Item identifier (also the thread id).
        text: Free-text support message.
        label: Label assigned by ``classify``.
        confidence: Confidence assigned by ``classify``.
        decision: Human (or automatic) decision taken at the gate.
        record: Record written by ``act``.
    """

    id: str
    text: str
    label: str
    confidence: float
    decision: dict[str, Any]
    record: dict[str, str]


def classify_text(text: str) -> tuple[str, float]:
    """Classify a support message deterministically.

    The label and confidence come from a BLAKE2b hash of the text, so the
    function is cheap, has no dependencies and gives identical results in
    every process. Confidence is uniform in ``[0.6, 1.0)``.

    Args:
        text: The message to classify.

    Returns:
        A ``(label, confidence)`` pair, ``label`` being one of :data:`LABELS`.
    """
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    h = int.from_bytes(digest, "big")
    label = LABELS[h % len(LABELS)]
    confidence = 0.6 + 0.4 * ((h // len(LABELS)) % 10**6) / 10**6
    return label, confidence


def make_items(n: int, seed: int = 0) -> list[dict[str, str]]:
    """Build ``n`` deterministic, varied, short support-style items.

    Args:
        n: Number of items.
        seed: Seed of the generator; the same ``(n, seed)`` always gives the
            same items.

    Returns:
        A list of ``{"id": str, "text": str}`` dicts with unique ids.
    """
    rng = random.Random(seed)
    items: list[dict[str, str]] = []
    for i in range(n):
        text = (
            f"Ticket {i}: {rng.choice(_SUBJECTS)} {rng.choice(_PROBLEMS)}. {rng.choice(_ASKS)}"
        ).strip()
        items.append({"id": f"item-{seed}-{i:07d}", "text": text})
    return items


def build_graph(checkpointer: SqliteSaver, on_gate: Callable[[], None]) -> Any:
    """Compile the ``classify -> gate -> act`` graph.

    Args:
        checkpointer: Saver the compiled graph persists to.
        on_gate: Called every time the gate node's body starts; used to count
            how often LangGraph re-runs the interrupted node.

    Returns:
        The compiled graph (a ``CompiledStateGraph``).
    """

    def classify(state: ItemState) -> ItemState:
        label, confidence = classify_text(state["text"])
        return {"label": label, "confidence": confidence}

    def gate(state: ItemState) -> ItemState:
        on_gate()
        if state["confidence"] < CONFIDENCE_THRESHOLD:
            # First run: raises GraphInterrupt and the run pauses. On resume,
            # LangGraph runs this whole body again and interrupt() returns
            # the value passed to Command(resume=...).
            decision = interrupt(
                {
                    "key": state["id"],
                    "label": state["label"],
                    "confidence": state["confidence"],
                }
            )
        else:
            decision = {"action": "auto"}
        return {"decision": decision}

    def act(state: ItemState) -> ItemState:
        return {"record": {"key": state["id"], "label": state["label"]}}

    builder = StateGraph(ItemState)
    builder.add_node("classify", classify)
    builder.add_node("gate", gate)
    builder.add_node("act", act)
    builder.add_edge(START, "classify")
    builder.add_edge("classify", "gate")
    builder.add_edge("gate", "act")
    builder.add_edge("act", END)
    return builder.compile(checkpointer=checkpointer)


def _thread(item_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": item_id}}


def _percentile(samples: list[float], q: int) -> float:
    """Return the ``q``-th percentile (1..99) of ``samples`` (NaN if empty)."""
    if not samples:
        return float("nan")
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


def _file_bytes(db_path: Path) -> int:
    """Return the size of the sqlite file plus its ``-wal`` if present."""
    wal = db_path.with_name(db_path.name + "-wal")
    return db_path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


class _Run:
    """One sqlite file, one compiled graph and a gate-body counter."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self.conn = sqlite3.connect(db_path, check_same_thread=False)
        self.saver = SqliteSaver(self.conn)
        self.gate_runs = 0
        self.graph = build_graph(self.saver, self._count_gate)

    def _count_gate(self) -> None:
        self.gate_runs += 1

    def start(self, item: dict[str, str]) -> bool:
        """Invoke one item from scratch; return True if it paused."""
        out = self.graph.invoke(item, _thread(item["id"]), durability="sync")
        return "__interrupt__" in out

    def resume(self, item_id: str) -> dict[str, Any]:
        """Approve one paused item; return the final state."""
        return self.graph.invoke(
            Command(resume={"action": "approve"}),
            _thread(item_id),
            durability="sync",
        )

    def list_waiting(self, thread_ids: list[str]) -> list[str]:
        """Return the thread ids that are paused on an interrupt.

        LangGraph OSS has no public "list threads" or "list interrupted
        threads" call for a local checkpointer (that lives in LangGraph
        Platform's ``/threads/search``). The natural public way is what an
        application does anyway: it knows the thread ids it started, calls
        ``graph.get_state(config)`` per thread and keeps those whose
        ``StateSnapshot.interrupts`` is non-empty (for the latest checkpoint
        it holds exactly the interrupts still awaiting an answer). The only
        other public route that needs no thread ids, ``checkpointer.list(None)``,
        deserialises every checkpoint of every thread (~4 per item here) and
        was ~20% slower when tried at 1000 items. Going one level down to
        ``checkpointer.get_tuple(config).pending_writes`` and looking for the
        ``__interrupt__`` channel was ~3x faster, but relies on a reserved
        channel name rather than the documented ``StateSnapshot.interrupts``,
        so this method uses ``graph.get_state`` per thread.
        """
        return [tid for tid in thread_ids if self.graph.get_state(_thread(tid)).interrupts]

    def list_waiting_sql(self) -> list[str]:
        """Return paused thread ids with one SQL query (not public API).

        Reads the saver's tables directly: the latest checkpoint per thread
        that has a pending ``__interrupt__`` write and no ``__resume__``
        write. This is a lower bound for what LangGraph's storage allows,
        reported next to the public-API figure for reference only.
        """
        query = """
            WITH latest AS (
                SELECT thread_id, MAX(checkpoint_id) AS checkpoint_id
                FROM checkpoints WHERE checkpoint_ns = ''
                GROUP BY thread_id
            )
            SELECT l.thread_id FROM latest AS l
            WHERE EXISTS (
                SELECT 1 FROM writes AS w
                WHERE w.thread_id = l.thread_id AND w.checkpoint_ns = ''
                  AND w.checkpoint_id = l.checkpoint_id
                  AND w.channel = '__interrupt__')
              AND NOT EXISTS (
                SELECT 1 FROM writes AS w
                WHERE w.thread_id = l.thread_id AND w.checkpoint_ns = ''
                  AND w.checkpoint_id = l.checkpoint_id
                  AND w.channel = '__resume__')
        """
        with closing(self.conn.cursor()) as cur:
            return [row[0] for row in cur.execute(query)]

    def close(self) -> None:
        self.conn.close()


def run_langgraph(n_items: int, workdir: Path, n_latency_samples: int = 200) -> dict[str, Any]:
    """Run the benchmark workload on LangGraph and measure it.

    Phases, each timed with :func:`time.perf_counter`:

    1. start every item from scratch (until it finishes or interrupts);
    2. list the waiting items (see :meth:`_Run.list_waiting`);
    3. resume every paused item one by one with an ``approve`` decision,
       timing each resume call individually.

    If fewer than ``n_latency_samples`` items paused, extra items are started
    and resumed in a separate sqlite file (``latency.sqlite``) only to collect
    more resume-latency samples; they do not count in any other metric.

    Args:
        n_items: Number of items to process.
        workdir: Directory for the sqlite files; must not already hold them.
        n_latency_samples: Minimum number of resume-latency samples behind
            ``decision_p50_ms`` and ``decision_p95_ms``.

    Returns:
        A dict of metrics: ``start_per_s``, ``decisions_per_s``,
        ``decision_p50_ms``, ``decision_p95_ms``, ``latency_samples``,
        ``list_waiting_ms``, ``list_waiting_sql_ms``, ``bytes_per_item``,
        ``paused``, ``succeeded``, ``reruns_of_interrupted_node``.

    Raises:
        ValueError: If ``n_items`` is not positive.
        FileExistsError: If ``workdir`` already holds a benchmark database.
        RuntimeError: If the measured run is inconsistent.
    """
    if n_items <= 0:
        raise ValueError("n_items must be positive")
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = workdir / "langgraph.sqlite"
    if db_path.exists():
        raise FileExistsError(db_path)

    items = make_items(n_items)
    ids = [item["id"] for item in items]
    run = _Run(db_path)
    try:
        t0 = time.perf_counter()
        paused_ids = [item["id"] for item in items if run.start(item)]
        start_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        waiting = run.list_waiting(ids)
        list_waiting_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        waiting_sql = run.list_waiting_sql()
        list_waiting_sql_s = time.perf_counter() - t0

        if sorted(waiting) != sorted(paused_ids) or sorted(waiting_sql) != sorted(paused_ids):
            raise RuntimeError("listed waiting items differ from paused items")

        latencies: list[float] = []
        succeeded = n_items - len(paused_ids)
        t_all = time.perf_counter()
        for item_id in paused_ids:
            t0 = time.perf_counter()
            out = run.resume(item_id)
            latencies.append(time.perf_counter() - t0)
            if out.get("record") == {"key": item_id, "label": out["label"]}:
                succeeded += 1
        decisions_s = time.perf_counter() - t_all

        if run.list_waiting(ids):
            raise RuntimeError("items still waiting after all decisions")
        reruns = run.gate_runs - n_items
    finally:
        run.close()
    size = _file_bytes(db_path)

    if len(latencies) < n_latency_samples:
        latencies += _extra_latencies(
            workdir / "latency.sqlite", n_latency_samples - len(latencies)
        )

    return {
        "start_per_s": n_items / start_s,
        "decisions_per_s": len(paused_ids) / decisions_s if paused_ids else 0.0,
        "decision_p50_ms": _percentile(latencies, 50) * 1e3,
        "decision_p95_ms": _percentile(latencies, 95) * 1e3,
        "latency_samples": len(latencies),
        "list_waiting_ms": list_waiting_s * 1e3,
        "list_waiting_sql_ms": list_waiting_sql_s * 1e3,
        "bytes_per_item": size / n_items,
        "paused": len(paused_ids),
        "succeeded": succeeded,
        "reruns_of_interrupted_node": reruns,
    }


def _extra_latencies(db_path: Path, needed: int) -> list[float]:
    """Collect ``needed`` resume latencies on a throwaway database.

    Args:
        db_path: Fresh sqlite file to use.
        needed: Number of resume latencies to collect.

    Returns:
        Resume latencies in seconds.
    """
    if db_path.exists():
        raise FileExistsError(db_path)
    run = _Run(db_path)
    latencies: list[float] = []
    try:
        # Same item generator, another seed: ~half of the items pause.
        for item in make_items(4 * needed + 16, seed=1):
            if len(latencies) >= needed:
                break
            if run.start(item):
                t0 = time.perf_counter()
                run.resume(item["id"])
                latencies.append(time.perf_counter() - t0)
    finally:
        run.close()
    return latencies


def main() -> None:
    """Parse arguments, run the benchmark and print a metrics table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000, help="items to run")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="directory for the sqlite files (default: a fresh tempdir)",
    )
    parser.add_argument(
        "--latency-samples",
        type=int,
        default=200,
        help="minimum number of resume-latency samples",
    )
    args = parser.parse_args()

    if args.workdir is None:
        with tempfile.TemporaryDirectory(prefix="lg-hitl-") as tmp:
            metrics = run_langgraph(args.items, Path(tmp), args.latency_samples)
    else:
        metrics = run_langgraph(args.items, args.workdir, args.latency_samples)

    print(f"LangGraph HITL, {args.items} items")
    width = max(len(k) for k in metrics)
    for key, value in metrics.items():
        shown = f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"
        print(f"  {key:<{width}}  {shown:>12}")


if __name__ == "__main__":
    main()
