"""Durability and concurrency: a batch killed with SIGKILL finishes exactly once on
restart; concurrent deciders of one review: exactly one wins."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest

from runtime.engine import Engine
from runtime.errors import ReviewNotPendingError
from runtime.services import default_services
from runtime.spec import load_yaml
from runtime.store import Store
from tests.e2e.clihelp import EXAMPLES, ROOT, loopgate

N_ITEMS = 3000


def _items(path: Path) -> None:
    with path.open("w") as fh:
        for i in range(N_ITEMS):
            conf = 0.6 + 0.4 * ((i * 7919) % 1000) / 1000
            label = ["billing", "technical", "shipping"][i % 3]
            fh.write(
                json.dumps(
                    {
                        "ticket_id": f"T-{i}",
                        "subject": f"ticket {i}",
                        "label": label,
                        "confidence": conf,
                    }
                )
                + "\n"
            )


def test_sigkill_mid_batch_then_restart_finishes_every_run_exactly_once(tmp_path: Path) -> None:
    db, items = tmp_path / "crash.duckdb", tmp_path / "items.jsonl"
    _items(items)
    cmd = [
        sys.executable,
        "-m",
        "runtime.cli",
        "run",
        str(EXAMPLES / "ticket-routing.yaml"),
        "--items",
        str(items),
        "--json",
        "--batch-size",
        "100",
        "--db",
        str(db),
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert proc.stdout is not None
    for seen, _line in enumerate(proc.stdout, start=1):
        if seen >= 250:  # two batches committed, the third in flight
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    con = duckdb.connect(str(db), read_only=True)
    committed = con.execute("SELECT count(*) FROM runs").fetchone()[0]
    con.close()
    assert 200 <= committed < N_ITEMS, "the kill must land part-way through the batch"

    again = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert again.returncode == 0, again.stderr
    results = [json.loads(line) for line in again.stdout.splitlines()]
    assert len(results) == N_ITEMS
    assert len({r["run_id"] for r in results}) == N_ITEMS

    con = duckdb.connect(str(db), read_only=True)
    q = con.execute
    assert q("SELECT count(*), count(DISTINCT idempotency_key) FROM runs").fetchone() == (
        N_ITEMS,
        N_ITEMS,
    )
    assert (
        q("SELECT count(*) FROM runs WHERE status NOT IN ('waiting', 'succeeded')").fetchone()[0]
        == 0
    )
    # No step ran twice: one step event per (run, step number), as many as the run's step count.
    dupes = q(
        "SELECT count(*) FROM (SELECT run_id, step FROM steps GROUP BY ALL HAVING count(*) > 1)"
    )
    assert dupes.fetchone()[0] == 0
    mismatch = q("""SELECT count(*) FROM runs r LEFT JOIN (SELECT run_id, count(*) n FROM steps
                    GROUP BY run_id) s ON s.run_id = r.id WHERE coalesce(s.n, 0) <> r.step_count""")
    assert mismatch.fetchone()[0] == 0
    starts = q(
        "SELECT count(*), count(DISTINCT run_id) FROM audit_events WHERE kind = 'run.started'"
    )
    assert starts.fetchone() == (N_ITEMS, N_ITEMS)
    pending = q("SELECT count(*) FROM reviews WHERE status = 'pending'").fetchone()[0]
    waiting = q("SELECT count(*) FROM runs WHERE status = 'waiting'").fetchone()[0]
    assert pending == waiting > 0
    con.close()
    assert "intact" in loopgate(db, "audit", "verify").out


@pytest.fixture()
def waiting_review(tmp_path: Path) -> tuple[Path, str]:
    db = tmp_path / "race.duckdb"
    store = Store(db)
    engine = Engine(store, services=default_services(store))
    for i in range(8):
        from runtime.auth import add_user

        add_user(store, f"rev{i}", roles=["reviewer"], teams=["managers"])
    res = engine.start(
        load_yaml(EXAMPLES / "expense-approval.yaml"),
        {"employee": "bob", "amount": 300, "category": "travel"},
    )
    store.close()
    assert res.review_id
    return db, res.review_id


def test_eight_threads_decide_one_review_exactly_one_wins(waiting_review: tuple[Path, str]) -> None:
    db, review_id = waiting_review
    store = Store(db)
    engine = Engine(store, services=default_services(store))
    barrier = threading.Barrier(8)
    outcomes: list[tuple[str, object]] = []
    lock = threading.Lock()

    def decide(i: int) -> None:
        barrier.wait()
        try:
            res = engine.decide(review_id, {"action": "approve"}, by=f"rev{i}")
            with lock:
                outcomes.append(("ok", res))
        except ReviewNotPendingError as exc:
            with lock:
                outcomes.append(("refused", exc))

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    wins = [o for kind, o in outcomes if kind == "ok"]
    refusals = [o for kind, o in outcomes if kind == "refused"]
    assert len(wins) == 1 and len(refusals) == 7
    winner = wins[0].outputs["manager"]["by"]
    for exc in refusals:
        assert exc.decided_by == winner and exc.decided_at
        assert f"already decided by {winner}" in str(exc)
    decided = store.execute_readonly(
        "SELECT count(*) AS n FROM audit_events WHERE kind = 'review.decided' AND review_id = ?",
        [review_id],
    )
    assert decided[0]["n"] == 1
    store.close()


def test_two_processes_decide_one_review_exactly_one_wins(waiting_review: tuple[Path, str]) -> None:
    db, review_id = waiting_review
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "runtime.cli",
                "decide",
                review_id,
                "--action",
                "approve",
                "--by",
                f"rev{i}",
                "--wait",
                "60",
                "--db",
                str(db),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for i in range(2)
    ]
    results = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 1], results
    loser = next(err for code, _, err in results if code == 1)
    assert "already decided by rev" in loser and "Traceback" not in loser
    con = duckdb.connect(str(db), read_only=True)
    n = con.execute("SELECT count(*) FROM audit_events WHERE kind = 'review.decided'").fetchone()[0]
    assert n == 1


_RECORDER = """
import sys
from runtime.engine import Engine
from runtime.services import default_services
from runtime.store import Store

store = Store(sys.argv[1])
engine = Engine(store, services=default_services(store))
engine.batch_size = 40  # applied 40 at a time; the rest wait in the journal
engine.apply_linger = 60.0
for review_id in sys.argv[2:]:
    engine.record_decision(review_id, {"action": "approve"}, by="rev0")
    print(review_id, flush=True)  # acknowledged: durable from here on
engine.flush()
"""


def test_sigkill_while_recording_decisions_loses_no_acknowledged_one(tmp_path: Path) -> None:
    db = tmp_path / "journal.duckdb"
    store = Store(db)
    engine = Engine(store, services=default_services(store))
    from runtime.auth import add_user

    add_user(store, "rev0", roles=["reviewer"], teams=["managers"])
    runs = engine.start_many(
        load_yaml(EXAMPLES / "expense-approval.yaml"),
        [{"employee": f"e{i}", "amount": 300 + i, "category": "travel"} for i in range(400)],
    )
    ids = [r.review_id for r in runs]
    store.close()

    proc = subprocess.Popen(
        [sys.executable, "-c", _RECORDER, str(db), *ids],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    acknowledged = []
    for line in proc.stdout:
        acknowledged.append(line.strip())
        if len(acknowledged) >= 150:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)

    con = duckdb.connect(str(db), read_only=True)
    unapplied = con.execute(
        "SELECT count(*) FROM decision_journal j JOIN reviews r ON r.id = j.review_id "
        "WHERE r.status = 'pending'"
    ).fetchone()[0]
    con.close()
    assert unapplied > 0, "the kill must leave decisions journaled but not applied"

    store = Store(db)
    engine = Engine(store, services=default_services(store))  # applies what was left
    q = store.execute_readonly
    decided = {
        r["review_id"]: r["n"]
        for r in q(
            "SELECT review_id, count(*) AS n FROM audit_events "
            "WHERE kind = 'review.decided' GROUP BY review_id"
        )
    }
    assert all(decided.get(rid) == 1 for rid in acknowledged)
    assert all(n == 1 for n in decided.values())
    statuses = {r["id"]: r["status"] for r in q("SELECT id, status FROM runs")}
    assert all(statuses[r.run_id] == "succeeded" for r in runs if r.review_id in decided)
    assert sum(s == "waiting" for s in statuses.values()) == len(ids) - len(decided)
    dupes = q(
        "SELECT count(*) AS n FROM (SELECT run_id, step FROM steps GROUP BY ALL "
        "HAVING count(*) > 1)"
    )
    assert dupes[0]["n"] == 0
    assert q("SELECT count(*) AS n FROM decision_journal")[0]["n"] == 0
    ok, _, message = store.verify_audit_chain()
    assert ok, message
    store.close()
