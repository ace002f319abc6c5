"""Loopgate's engine against LangGraph (SqliteSaver) on durable human-in-the-loop runs.

The same 5-node workflow in both: trigger -> classify -> confidence gate (pause below
0.8) -> act (write a small record) -> end, about half the items pausing. Both store on a
real file with their normal durability; rounds alternate A/B; medians are printed.

    python -m bench.engine                 # 1,000 and 10,000 items, 3 rounds
    python -m bench.engine --sizes 20 --rounds 1      # the smoke run the tests use
    python -m bench.engine --listing 100000           # + pending-list time at 100k waiting
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa

from runtime import Engine, Store
from runtime.functions import register_function
from runtime.services import default_services
from runtime.spec import parse_spec

try:
    from bench.peers.langgraph_hitl import classify_text, make_items, run_langgraph
except ImportError:  # the bench extra is not installed
    run_langgraph = None  # type: ignore[assignment]
    from bench.peers_fallback import classify_text, make_items  # type: ignore[no-redef]


@register_function("bench_classify")
def _classify(text: str) -> dict[str, Any]:
    label, confidence = classify_text(text)
    return {"label": label, "confidence": confidence}


WORKFLOW = parse_spec(
    {
        "id": "bench-hitl",
        "name": "Benchmark HITL",
        "input": {
            "id": {"type": "string", "required": True},
            "text": {"type": "string", "required": True},
        },
        "nodes": [
            {"id": "trigger", "type": "trigger"},
            {
                "id": "classify",
                "type": "function",
                "params": {"name": "bench_classify", "args": {"text": "{{ item.text }}"}},
            },
            {
                "id": "gate",
                "type": "confidence_gate",
                "params": {"of": "classify", "threshold": 0.8},
            },
            {
                "id": "act",
                "type": "record_write",
                "params": {
                    "table": "bench",
                    "key": "{{ item.id }}",
                    "merge": False,
                    "values": {"label": "{{ steps.classify.label }}"},
                },
            },
            {"id": "end", "type": "end"},
        ],
        "edges": [
            {"from": "trigger", "to": "classify"},
            {"from": "classify", "to": "gate", "branch": "next"},
            {"from": "classify", "to": "end", "branch": "error"},
            {"from": "gate", "to": "act", "branch": "pass"},
            {"from": "gate", "to": "end", "branch": "rejected"},
            {"from": "act", "to": "end", "branch": "next"},
            {"from": "act", "to": "end", "branch": "error"},
        ],
    }
)


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def run_loopgate(
    n_items: int, workdir: Path, n_one_by_one: int = 1000, n_sync: int = 200
) -> dict[str, float]:
    """Start n items, decide part one by one and the rest in bulk; measure everything."""
    db = workdir / "loopgate.duckdb"
    store = Store(db)
    engine = Engine(store, services=default_services(store))
    store.create_user("bench", password_hash=None, roles=["reviewer"], teams=[])
    wf = engine.save_workflow(WORKFLOW)
    items = make_items(n_items)

    t0 = time.perf_counter()
    results = engine.start_many(wf, items)
    start_s = time.perf_counter() - t0
    waiting = [r.review_id for r in results if r.status == "waiting"]

    t0 = time.perf_counter()
    page = store.list_pending_reviews(limit=50)
    total_waiting = store.count_pending_reviews()
    list_ms = (time.perf_counter() - t0) * 1000
    assert total_waiting == len(waiting) and len(page) == min(50, len(waiting))

    # One by one, each durable before the next: record_decision journals the decision
    # (one write) and returns; the engine applies decisions in the background. The clock
    # stops only once every run has gone on to its end (flush), so the rate is end to end.
    one = waiting[: min(n_one_by_one, len(waiting) // 3 or len(waiting))]
    lat = []
    t0 = time.perf_counter()
    for review_id in one:
        t1 = time.perf_counter()
        engine.record_decision(review_id, {"action": "approve"}, by="bench")
        lat.append(time.perf_counter() - t1)
    engine.flush()
    one_s = time.perf_counter() - t0
    assert store.count_pending_reviews() == len(waiting) - len(one)

    # One by one, each call returning only once its run has reached its end (decide).
    sync = waiting[len(one) : len(one) + min(n_sync, len(one))]
    sync_lat = []
    for review_id in sync:
        t1 = time.perf_counter()
        engine.decide(review_id, {"action": "approve"}, by="bench")
        sync_lat.append(time.perf_counter() - t1)

    rest = waiting[len(one) + len(sync) :]
    gc.collect()  # a collection of the other system's garbage must not land in this phase
    t0 = time.perf_counter()
    bulk = engine.decide_many(rest, {"action": "approve"}, by="bench")
    bulk_s = time.perf_counter() - t0
    assert all(r.status == "succeeded" for r in bulk)

    reruns = store.execute_readonly(
        "SELECT count(*) - count(DISTINCT run_id) AS n FROM steps WHERE node_id = 'classify'"
    )[0]["n"]
    events = store.execute_readonly("SELECT count(*) AS n FROM audit_events")[0]["n"]
    store.checkpoint()
    size = store.file_size()
    store.close()
    return {
        "start_per_s": n_items / start_s,
        "decisions_per_s": len(one) / one_s if one else 0.0,
        "decision_p50_ms": _pct(lat, 0.5) * 1000 if lat else 0.0,
        "decision_p95_ms": _pct(lat, 0.95) * 1000 if lat else 0.0,
        "sync_decisions_per_s": len(sync) / sum(sync_lat) if sync else 0.0,
        "sync_p50_ms": _pct(sync_lat, 0.5) * 1000 if sync_lat else 0.0,
        "bulk_decisions_per_s": len(rest) / bulk_s if rest else 0.0,
        "list_waiting_ms": list_ms,
        "bytes_per_item": size / n_items,
        "paused": len(waiting),
        "reruns_of_finished_nodes": reruns,
        "event_rows_per_s_at_start": events / start_s,
    }


def duckdb_bulk_limit(workdir: Path, rows: int = 200_000) -> float:
    """DuckDB's own insert rate for rows shaped like Loopgate's audit (step) rows."""
    import duckdb

    con = duckdb.connect(str(workdir / "limit.duckdb"))
    con.execute(
        "CREATE TABLE audit_events (seq BIGINT, occurred_at TIMESTAMP, kind VARCHAR, "
        "run_id VARCHAR, "
        "review_id VARCHAR, node_id VARCHAR, actor VARCHAR, data JSON, prev_hash BLOB, hash BLOB)"
    )
    now = time.time()
    data = (
        '{"type":"function","branch":"next","step":2,"output":{"label":"refund","confidence":0.7}}'
    )
    frame = pa.table(
        {
            "seq": pa.array(range(rows), pa.int64()),
            "occurred_at": pa.array([int(now * 1e6)] * rows, pa.timestamp("us")),
            "kind": ["step"] * rows,
            "run_id": [f"run_{i // 5:016x}" for i in range(rows)],
            "review_id": pa.nulls(rows, pa.string()),
            "node_id": ["classify"] * rows,
            "actor": pa.nulls(rows, pa.string()),
            "data": [data] * rows,
            "prev_hash": [os.urandom(32) for _ in range(rows)],
            "hash": [os.urandom(32) for _ in range(rows)],
        }
    )
    t0 = time.perf_counter()
    con.register("frame", frame)
    con.execute("INSERT INTO audit_events SELECT * FROM frame")
    elapsed = time.perf_counter() - t0
    con.close()
    return rows / elapsed


def listing_at_scale(workdir: Path, n_waiting: int) -> float:
    """Time to list the first page of pending reviews with n_waiting waiting."""
    db = workdir / "listing.duckdb"
    store = Store(db)
    engine = Engine(store, services=default_services(store))
    wf = engine.save_workflow(WORKFLOW)
    engine.batch_size = 5000
    items = [{"id": f"w{i}", "text": f"low confidence {i}"} for i in range(n_waiting * 3)]
    paused = 0
    for chunk in range(0, len(items), 50_000):
        res = engine.start_many(wf, items[chunk : chunk + 50_000])
        paused += sum(r.status == "waiting" for r in res)
        if paused >= n_waiting:
            break
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        store.list_pending_reviews(limit=50)
        times.append((time.perf_counter() - t0) * 1000)
    store.close()
    print(
        f"listing: {paused} waiting reviews, first page of 50 in {statistics.median(times):.1f} ms"
    )
    return statistics.median(times)


ROWS = [
    ("start (items/s)", "start_per_s", True),
    ("decisions one by one (/s)", "decisions_per_s", True),
    ("decision p50 (ms)", "decision_p50_ms", False),
    ("decision p95 (ms)", "decision_p95_ms", False),
    ("decisions one by one, run finished before return (/s)", "sync_decisions_per_s", True),
    ("  p50 of those (ms)", "sync_p50_ms", False),
    ("bulk decisions (/s)", "bulk_decisions_per_s", True),
    ("list waiting (ms)", "list_waiting_ms", False),
    ("bytes stored per item", "bytes_per_item", False),
    ("re-runs of finished nodes", "reruns", False),
]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--listing", type=int, default=0, help="also time listing with N waiting")
    parser.add_argument("--no-peer", action="store_true", help="Loopgate only")
    args = parser.parse_args(argv)

    print(
        f"# Loopgate vs LangGraph (SqliteSaver, durability=sync) on {date.today()}, "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    peer = None if args.no_peer else run_langgraph
    for n in args.sizes:
        lg_runs, lp_runs = [], []
        for _ in range(args.rounds):
            if peer is not None:
                gc.collect()
                with tempfile.TemporaryDirectory() as d:
                    res = peer(n, Path(d))
                    # LangGraph has no bulk resume, and its resume returns once the run
                    # has gone on, so its one-by-one figures stand for all three rows.
                    res["bulk_decisions_per_s"] = res["decisions_per_s"]
                    res["sync_decisions_per_s"] = res["decisions_per_s"]
                    res["sync_p50_ms"] = res["decision_p50_ms"]
                    res["reruns"] = res.get("reruns_of_interrupted_node", 0)
                    lg_runs.append(res)
            gc.collect()
            with tempfile.TemporaryDirectory() as d:
                res = run_loopgate(n, Path(d))
                res["reruns"] = res["reruns_of_finished_nodes"]
                lp_runs.append(res)
        print(
            f"\n## {n} items, median of {args.rounds} rounds "
            f"(~{statistics.median(r['paused'] for r in lp_runs):.0f} paused)\n"
        )
        print("| measure | Loopgate | LangGraph | Loopgate / LangGraph |")
        print("|---|---:|---:|---:|")
        for label, key, _higher in ROWS:
            a = statistics.median(r[key] for r in lp_runs)
            if lg_runs:
                b = statistics.median(r[key] for r in lg_runs)
                ratio = f"{a / b:.2f}x" if b else "-"
                print(f"| {label} | {a:,.1f} | {b:,.1f} | {ratio} |")
            else:
                print(f"| {label} | {a:,.1f} | - | - |")
        rows_s = statistics.median(r["event_rows_per_s_at_start"] for r in lp_runs)
        with tempfile.TemporaryDirectory() as d:
            limit = duckdb_bulk_limit(Path(d))
        print(
            f"\nAudit rows written while starting: {rows_s:,.0f}/s; DuckDB's own bulk insert of "
            f"such rows from Arrow: {limit:,.0f}/s ({rows_s / limit:.1%} of the physical limit)"
        )
    if args.listing:
        with tempfile.TemporaryDirectory() as d:
            listing_at_scale(Path(d), args.listing)


if __name__ == "__main__":
    main()
