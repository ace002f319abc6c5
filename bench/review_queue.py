"""The Review page's reads at scale: the queue with its filter counts, and precedent.

With N pending reviews (default 100,000) over four teams and three workflows, it times
the first page of ``runtime.queries.reviews.review_queue`` with its counts, as an admin
and as a reviewer of two teams, unfiltered and filtered; with N reviews of one checkpoint
decided by people, it times ``runtime.queries.precedent.similar_decisions`` for one
review: the first lookup (fitting the checkpoint's index) and then warm ones (the index
cached, its staleness checked). Medians are printed as a table.

Rows are generated in bulk and written through the store contract (``Store.commit`` of one
``WriteBatch``, which the DuckDB backend inserts from Arrow; ``UnitOfWork.settle`` for the
decisions), not through the engine, so the set-up takes seconds, not minutes.

    python -m bench.review_queue                 # 100,000 pending + 100,000 decided
    python -m bench.review_queue --n 2000        # the smoke run the tests use
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from runtime import Store
from runtime.auth import add_user
from runtime.domain import ReviewRecord, RunRecord, Settlement, WriteBatch
from runtime.queries import precedent
from runtime.queries.precedent import similar_decisions
from runtime.queries.reviews import review_queue

TEAMS = ["support", "finance", "risk", "managers"]
WORKFLOWS = ["refunds", "invoices", "access"]
PRIORITIES = ["urgent", "high", "normal", "normal", "low"]
T0 = datetime(2026, 1, 1)

_SUBJECTS = [
    "refund", "invoice", "parcel", "password", "subscription", "screen", "delivery",
    "account", "payment", "order", "card", "address", "login", "charge", "warranty",
]  # fmt: skip
_PROBLEMS = [
    "arrived broken", "was charged twice", "is three weeks late", "cannot be reset",
    "shows the wrong amount", "was cancelled without notice", "is missing an item",
    "needs a new billing address", "was declined at checkout", "has a cracked corner",
]  # fmt: skip
_ASKS = ["please help", "refund please", "what now", "urgent", "send a new one", "call me"]


def message(rng: random.Random) -> str:
    """A support-like sentence from a small grammar (so that similar ones exist)."""
    return (
        f"my {rng.choice(_SUBJECTS)} {rng.choice(_PROBLEMS)}, order {rng.randrange(10**6)}, "
        f"{rng.choice(_ASKS)}"
    )


def _rows(
    n: int, rng: random.Random, *, prefix: str, team: Callable[[int], str | None], wf: Callable
) -> WriteBatch:
    """``n`` waiting runs with one pending review each (approval at ``check``)."""
    batch = WriteBatch()
    for i in range(n):
        at = T0 + timedelta(seconds=i)
        run_id, review_id = f"run_{prefix}{i:07d}", f"rev_{prefix}{i:07d}"
        item = {"id": f"{prefix}{i}", "message": message(rng), "amount": rng.randrange(5, 900)}
        batch.runs[run_id] = RunRecord(
            id=run_id,
            workflow_id=wf(i),
            workflow_version=1,
            status="waiting",
            current_node="check",
            item=item,
            steps={},
            review={"node": "check"},
            visits={"check": 1},
            step_count=1,
            created_at=at,
            updated_at=at,
            started_by="ops",
            is_new=True,
        )
        batch.reviews.append(
            ReviewRecord(
                id=review_id,
                run_id=run_id,
                workflow_id=wf(i),
                workflow_version=1,
                node_id="check",
                kind="approval",
                team=team(i),
                assignee="rae" if i % 17 == 0 else None,
                priority=PRIORITIES[i % len(PRIORITIES)],
                instructions="Check the request",
                note=None,
                reason_codes=["not_eligible", "duplicate"],
                actions=["approve", "reject", "escalate"],
                form=[],
                display={},
                visits=1,
                deadline=at + timedelta(days=2) if i % 3 == 0 else None,
                on_timeout="timeout" if i % 3 == 0 else None,
                escalate_to=None,
                escalated_from=None,
                created_at=at,
            )
        )
    return batch


def build(path: Path, n_pending: int, n_decided: int) -> tuple[Store, float]:
    """A store with the pending and decided reviews; returns it and the seconds it took."""
    rng = random.Random(7)
    t0 = time.perf_counter()
    store = Store(path)
    add_user(store, "rae", roles=["reviewer"], teams=["support", "finance"])
    add_user(store, "ada", roles=["admin"], teams=[])
    store.commit(
        _rows(
            n_pending,
            rng,
            prefix="p",
            team=lambda i: TEAMS[i % len(TEAMS)] if i % 11 else None,
            wf=lambda i: WORKFLOWS[i % len(WORKFLOWS)],
        )
    )
    # The decided ones: all of one checkpoint (refunds/check), decided by people.
    store.commit(
        _rows(n_decided, rng, prefix="d", team=lambda i: "support", wf=lambda i: "refunds")
    )
    actions = ["approve", "approve", "reject", "edit"]
    settled = []
    for i in range(n_decided):
        action = actions[i % len(actions)]
        settled.append(
            Settlement(
                id=f"rev_d{i:07d}",
                status="decided",
                decided_by="rae",
                decided_at=T0 + timedelta(days=1, seconds=i),
                action=action,
                data={"amount": 10} if action == "edit" else None,
                reason="duplicate" if action == "reject" else None,
                note=f"note {i}",
            )
        )
    with store.unit_of_work() as uow:
        uow.settle(settled)
    return store, time.perf_counter() - t0


def _median_ms(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def measure(store: Store, repeat: int = 15) -> list[tuple[str, float, str]]:
    """The figures: (what, ms, target)."""
    rae, ada = store.get_user("rae"), store.get_user("ada")
    out = []
    urgent_support = {"team": "support", "priority": "urgent"}
    for label, user, filters in [
        ("queue, first page + counts (admin)", ada, {}),
        ("queue, first page + counts (reviewer, 2 teams)", rae, {}),
        ("queue, filtered by team and priority (reviewer)", rae, urgent_support),
        ("queue, assigned to me (reviewer)", rae, {"assignee": "rae"}),
    ]:
        page = review_queue(store, user, limit=50, **filters)
        assert page.items and page.total
        ms = _median_ms(lambda u=user, f=filters: review_queue(store, u, limit=50, **f), repeat)
        out.append((label, ms, "< 100"))
    pending = [r["id"] for r in review_queue(store, rae, workflow_id="refunds", limit=repeat).items]
    precedent._CACHE.clear()
    import sklearn.feature_extraction.text  # noqa: F401  (the import is not the fit)

    t0 = time.perf_counter()
    first = similar_decisions(store, rae, pending[0])
    cold = (time.perf_counter() - t0) * 1000
    assert first, "no precedent found"
    out.append(("precedent, first lookup (fits the index)", cold, "once"))
    times = []
    for rid in pending:
        t0 = time.perf_counter()
        similar_decisions(store, rae, rid)
        times.append((time.perf_counter() - t0) * 1000)
    out.append(("precedent, one lookup (reviewer)", statistics.median(times), "< 50"))
    out.append(
        (
            "precedent, one lookup (admin)",
            _median_ms(lambda: similar_decisions(store, ada, pending[1]), repeat),
            "< 50",
        )
    )
    return out


def page_render(store: Store, path: Path, repeat: int = 5) -> list[tuple[str, float, str]]:
    """The Review page rendered by Streamlit's AppTest on this store, as the reviewer: the
    queue, and one review opened by its deep link. Empty when Streamlit is not installed."""
    try:
        from streamlit.testing.v1 import AppTest
    except ImportError:
        return []
    from builder.shell import resources
    from runtime.engine import Engine

    os.environ["LOOPGATE_DB"] = str(path)
    resources.set_engine(Engine(store))
    app = str(Path(__file__).resolve().parents[1] / "app.py")
    rid = review_queue(store, store.get_user("rae"), limit=1).items[0]["id"]
    out = []
    for label, params in (
        ("Review page: the queue (AppTest)", {}),
        ("Review page: one review", {"review": rid}),
    ):
        times = []
        for _ in range(repeat):
            at = AppTest.from_file(app, default_timeout=60)
            at.session_state["lg_user"] = "rae"
            for key, value in params.items():
                at.query_params[key] = value
            at.run()
            t0 = time.perf_counter()
            at.switch_page("pages/review.py").run()
            times.append((time.perf_counter() - t0) * 1000)
            assert not at.exception, at.exception
        out.append((label, statistics.median(times), "< 1,000"))
    resources.set_engine(None)
    return out


def main(argv: list[str] | None = None) -> None:
    """Build the store, time the reads, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="pending and decided reviews each")
    parser.add_argument("--repeat", type=int, default=15, help="timings per figure (median)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        store, built = build(Path(d) / "queue.duckdb", args.n, args.n)
        try:
            figures = measure(store, args.repeat)
            figures += page_render(store, Path(d) / "queue.duckdb")
        finally:
            store.close()
    corpus = min(args.n, precedent.MAX_CORPUS)
    print(
        f"{args.n:,} pending reviews (4 teams, 3 workflows) and {args.n:,} decided reviews of "
        f"one checkpoint (precedent searches the newest {corpus:,}); built in {built:.1f} s\n"
    )
    print("| measure | ms (median) | target (ms) |")
    print("|---|---:|---:|")
    for label, ms, target in figures:
        print(f"| {label} | {ms:,.1f} | {target} |")


if __name__ == "__main__":
    main()
