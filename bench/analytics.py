"""Every dashboard query over a large store: Loopgate's DuckDB against the same data in SQLite.

Generates a Loopgate database with ``--decisions`` settled reviews and ``--events`` audit
rows by bulk SQL inserts (``bench/analytics_data.py``: seeded, a minute or two at full
size), copies the rows the dashboard reads into SQLite (with indexes), then times each
query of the Dashboard page (the default filter: the last 30 days) in both, the median of
``--rounds`` after a warm-up, and checks that both give the same figures.

    python -m bench.analytics                                  # 1,000,000 / 10,000,000
    python -m bench.analytics --decisions 10000 --events 100000 --rounds 1   # smoke size

DuckDB is timed through ``runtime.queries.analytics`` (what the page calls: SQL plus the
Python that turns aggregates into figures); SQLite through the same aggregates written for
it (``bench/analytics_sqlite.py``), without that Python.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from bench.analytics_data import END, copy_to_sqlite, generate
from bench.analytics_sqlite import SqliteAnalytics
from runtime.queries import analytics as A
from runtime.queries.analytics.metrics import AGE_EDGES
from runtime.store import Store
from runtime.store.contract import AnalyticsScope

TARGET_MS = 300.0
GATE = {"workflow_id": "wf-0", "node_id": "gate"}


def _median_ms(fn: Callable[[], Any], rounds: int) -> float:
    fn()  # warm-up (first read of the columns)
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def _checks(store: Store, lite: SqliteAnalytics, f: A.AnalyticsFilter) -> dict[str, bool]:
    """Whether DuckDB and SQLite agree on each aggregate (counts exactly, times to 0.1 s)."""
    scope = AnalyticsScope(since=f.since, until=f.until)
    out: dict[str, bool] = {}
    duck = {
        (r["action"], r["by_system"], r["reason"]): r["n"] for r in store.decision_outcomes(scope)
    }
    lite_rows = {(a, bool(s), r): n for a, s, r, n in lite.decision_outcomes()}
    out["decision_outcomes"] = duck == lite_rows
    d, s = store.decision_time_stats(scope), lite.decision_time_stats()
    out["decision_time_stats"] = d["n"] == s["n"] and all(
        abs((d[k] or 0) - (s[k] or 0)) < 0.1 for k in ("p50", "p95", "mean")
    )
    edges = [e for _, e in AGE_EDGES]
    out["backlog_ages"] = [(r["bucket"], r["n"]) for r in store.backlog_ages(scope, edges)] == [
        (b, n) for b, n, _ in lite.backlog_ages(edges)
    ]
    out["automation_series"] = [
        (r["finished"], r["automated"]) for r in store.automation_series(scope, "day")
    ] == [(n, a) for _, n, a in lite.automation_series()]
    out["escalation_counts"] = sorted(
        (r["team"], r["source"], r["n"]) for r in store.escalation_counts(scope)
    ) == sorted(lite.escalation_counts())
    tp = {
        r["reviewer"]: (r["decisions"], r["approved"], r["rejected"], round(r["median_seconds"], 1))
        for r in store.reviewer_throughput(scope)
    }
    out["reviewer_throughput"] = tp == {
        r[0]: (r[1], r[2], r[3], round(r[6], 1)) for r in lite.reviewer_throughput()
    }
    j = store.ai_judgments(scope)
    out["ai_judgments"] = (j["judged"], j["overridden"]) == tuple(lite.ai_judgments())
    jc = sorted(
        (r["milli"], bool(r["sampled"]), r["n"], r["overridden"])
        for r in store.judged_confidences(scope)
    )
    out["judged_confidences"] = jc == sorted(
        (m, bool(s), n, o) for m, s, n, o, _ in lite.judged_confidences()
    )
    gp = [
        (r["milli"], r["n"])
        for r in store.gate_passes(AnalyticsScope(**GATE, since=f.since, until=f.until))
    ]
    out["gate_passes"] = gp == sorted(lite.gate_passes(**GATE))
    dims = store.analytics_dimensions()
    out["analytics_dimensions"] = (
        tuple(len(dims[k]) for k in ("workflows", "nodes", "teams", "reviewers"))
        == lite.dimensions()
    )
    return out


SQLITE_FOR: dict[str, Callable[[SqliteAnalytics], Any]] = {
    "approval_rate": lambda s: s.decision_outcomes(),
    "override_rate": lambda s: s.ai_judgments(),
    "edit_rate": lambda s: s.decision_outcomes(),
    "rejection_reasons": lambda s: s.decision_outcomes(),
    "timeout_rate": lambda s: s.decision_outcomes(),
    "time_to_decision": lambda s: s.decision_time_stats(),
    "backlog": lambda s: s.backlog_ages([e for _, e in AGE_EDGES]),
    "automation_rate": lambda s: s.automation_series(),
    "escalations": lambda s: s.escalation_counts(),
    "throughput": lambda s: s.reviewer_throughput(),
    "calibration": lambda s: s.judged_confidences(),
    "choice_shares": lambda s: s.choice_counts(),
}


def run(
    decisions: int,
    events: int,
    rounds: int,
    folder: Path,
    seed: int,
    *,
    lite_rounds: int = 2,
    reuse: bool = False,
) -> str:
    """Generate, copy, time; returns the report (Markdown).

    Args:
        decisions, events: the sizes.
        rounds: timed runs per DuckDB query (the median is reported).
        folder: where the two files go.
        seed: the data's seed.
        lite_rounds: timed runs per SQLite query (its queries take seconds at full size).
        reuse: keep the files a previous run left in ``folder`` (same sizes and seed).
    """
    duck_path, lite_path = folder / "analytics.duckdb", folder / "analytics.sqlite"
    made: dict[str, float] = {}
    copy_s = 0.0
    if not (reuse and duck_path.exists() and lite_path.exists()):
        for p in (duck_path, lite_path, Path(f"{duck_path}.wal")):
            p.unlink(missing_ok=True)
        made = generate(duck_path, decisions=decisions, events=events, seed=seed)
        copy_s = copy_to_sqlite(duck_path, lite_path)
    store = Store(duck_path)
    f = A.last_days(30, END)
    prev = f.previous()
    assert prev is not None
    lite = SqliteAnalytics(str(lite_path), f.since, f.until)  # type: ignore[arg-type]
    lite_prev = SqliteAnalytics(str(lite_path), prev.since, prev.until)  # type: ignore[arg-type]
    gate_f = f.model_copy(update=GATE)
    rows: list[tuple[str, float, float]] = []
    for name in A.QUERIES:
        d = _median_ms(lambda n=name: A.run_query(store, None, n, f, now=END), rounds)
        s = _median_ms(lambda n=name: SQLITE_FOR[n](lite), lite_rounds)
        rows.append((name, d, s))
    rows.append(
        (
            "threshold what-if",
            _median_ms(lambda: A.threshold_what_if(store, None, gate_f), rounds),
            _median_ms(
                lambda: (lite.judged_confidences("wf-0"), lite.gate_passes(**GATE)), lite_rounds
            ),
        )
    )
    rows.append(
        (
            "filter choices",
            _median_ms(lambda: A.dimensions(store, None), rounds),
            _median_ms(lite.dimensions, lite_rounds),
        )
    )
    rows.append(
        (
            "KPI tiles (6 queries x 2 periods)",
            _median_ms(lambda: A.kpis(store, None, f, now=END), rounds),
            _median_ms(
                lambda: [SQLITE_FOR[n](x) for n in A.KPI_NAMES for x in (lite, lite_prev)],
                lite_rounds,
            ),
        )
    )
    checks = _checks(store, lite, f)
    n_reviews = store._cur().execute("SELECT count(*) FROM reviews").fetchone()[0]
    n_events = store._cur().execute("SELECT count(*) FROM audit_events").fetchone()[0]
    n_runs = store._cur().execute("SELECT count(*) FROM runs").fetchone()[0]
    store.close()
    lines = [
        f"Data: {decisions:,} settled reviews ({n_reviews:,} reviews with the pending ones), "
        f"{n_runs:,} runs, {n_events:,} audit events"
        + (
            "; generated in "
            + ", ".join(f"{k} {v:.1f} s" for k, v in made.items())
            + f"; copied to SQLite in {copy_s:.1f} s."
            if made
            else " (files of an earlier run)."
        ),
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, "
        f"DuckDB {duckdb.__version__}, SQLite {__import__('sqlite3').sqlite_version}. "
        f"Filter: the last 30 days of 180. Median of {rounds} runs (SQLite: {lite_rounds}) "
        "after a warm-up.",
        f"DuckDB and SQLite agree: {', '.join(k for k, ok in checks.items() if ok) or 'none'}"
        + (
            f"; DIFFER: {', '.join(k for k, ok in checks.items() if not ok)}"
            if not all(checks.values())
            else " (all)"
        )
        + ".",
        "",
        "| query | DuckDB (ms) | SQLite (ms) | SQLite / DuckDB | under 300 ms |",
        "|---|---:|---:|---:|:---:|",
    ]
    for name, d, s in rows:
        ok = "n/a" if name.startswith("KPI") else "yes" if d < TARGET_MS else "**no**"
        lines.append(f"| {name} | {d:,.0f} | {s:,.0f} | {s / d:,.1f}x | {ok} |")
    return "\n".join(lines)


def main() -> None:
    """Parse the sizes, run, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=5, help="timed runs per DuckDB query")
    parser.add_argument("--sqlite-rounds", type=int, default=2, help="timed runs per SQLite query")
    parser.add_argument("--reuse", action="store_true", help="reuse the files in --dir")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dir", type=Path, default=None, help="keep the files here")
    args = parser.parse_args()
    if args.decisions < 100 or args.events < 0 or min(args.rounds, args.sqlite_rounds) < 1:
        parser.error("--decisions must be at least 100, --events at least 0, the rounds at least 1")
    sizes = (args.decisions, args.events, args.rounds)
    extra = {"lite_rounds": args.sqlite_rounds, "reuse": args.reuse}
    if args.dir:
        args.dir.mkdir(parents=True, exist_ok=True)
        print(run(*sizes, args.dir, args.seed, **extra))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            print(run(*sizes, Path(tmp), args.seed, **extra))


if __name__ == "__main__":
    main()
