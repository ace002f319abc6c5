"""The executor seam: inline and thread-pool executors give the same runs and audit trails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runtime.auth import add_user
from runtime.domain import WriteBatch
from runtime.engine import Engine, InlineExecutor, ThreadPoolNodeExecutor
from runtime.engine.executor import run_node
from runtime.errors import RunError
from runtime.items import read_items
from runtime.nodes.base import Continue, Fail, NodeType, RunContext
from runtime.services import default_services
from runtime.spec import load_yaml
from runtime.store import Store

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


class _Crashes(NodeType):
    type_name = "crashes"

    def run(self, ctx: RunContext, params: Any) -> Continue:
        raise ZeroDivisionError("a bug")


class _Refuses(NodeType):
    type_name = "refuses"

    def run(self, ctx: RunContext, params: Any) -> Continue:
        raise RunError("no such thing")


def test_a_node_exception_becomes_a_fail_outcome() -> None:
    ctx = RunContext(
        run_id="r", workflow_id="w", node_id="n", item={}, steps={}, review=None, now=None
    )  # type: ignore[arg-type]
    crashed = run_node(_Crashes(), None, ctx)
    assert crashed == Fail("crashes crashed: ZeroDivisionError: a bug")
    assert run_node(_Refuses(), None, ctx) == Fail("no such thing")


@pytest.mark.parametrize("executor", [InlineExecutor(), ThreadPoolNodeExecutor(max_workers=4)])
def test_map_into_keeps_job_order(executor) -> None:
    def step(job: int, batch: WriteBatch) -> None:
        batch.feedback.append({"job": job})

    batch = WriteBatch()
    executor.map_into(step, list(range(50)), batch)
    assert [row["job"] for row in batch.feedback] == list(range(50))


def _trail(store: Store) -> list[tuple[Any, ...]]:
    """The audit trail with the random parts (review ids, times, hashes) numbered away."""
    rows = store.execute_readonly(
        "SELECT kind, run_id, review_id, node_id, actor, data FROM audit_events ORDER BY seq"
    )
    reviews: dict[str, str] = {}

    def name(rid: str | None) -> str | None:
        return None if rid is None else reviews.setdefault(rid, f"review{len(reviews)}")

    out = []
    for r in rows:
        data = json.loads(r["data"]) if isinstance(r["data"], str) else r["data"]
        text = json.dumps(data, sort_keys=True, default=str)
        for rid, alias in reviews.items():
            text = text.replace(rid, alias)
        out.append((r["kind"], r["run_id"], name(r["review_id"]), r["node_id"], r["actor"], text))
    return out


def _run_batch(db: Path, executor: Any) -> tuple[list[Any], list[Any], list[tuple[Any, ...]]]:
    store = Store(db)
    add_user(store, "ada", roles=["admin"], teams=[])
    engine = Engine(store, services=default_services(store), executor=executor)
    engine.batch_size = 7  # several group commits
    results = []
    for name in ("expense-approval", "account-deletion"):
        items, _ = read_items(EXAMPLES / "items" / f"{name}.jsonl")
        many = [dict(item) for _ in range(6) for item in items]
        results += engine.start_many(load_yaml(EXAMPLES / f"{name}.yaml"), many, batch_id=name)
    waiting = [r.review_id for r in results if r.status == "waiting"]
    decided = engine.decide_many(waiting, {"action": "approve"}, by="ada")
    trail = _trail(store)
    ok, _, message = store.verify_audit_chain()
    assert ok, message
    store.close()
    strip = [r.model_dump(exclude={"review_id"}) for r in results + decided]
    return strip, [r.status for r in decided], trail


def test_inline_and_thread_pool_give_the_same_runs_and_audit_trail(tmp_path: Path) -> None:
    pool = ThreadPoolNodeExecutor(max_workers=4)
    try:
        inline = _run_batch(tmp_path / "inline.duckdb", InlineExecutor())
        threaded = _run_batch(tmp_path / "threads.duckdb", pool)
    finally:
        pool.shutdown()
    results, statuses, trail = inline
    assert trail
    assert len(results) > 40 and "succeeded" in statuses
    assert {r["status"] for r in results} >= {"waiting", "succeeded"}
    assert threaded == inline
