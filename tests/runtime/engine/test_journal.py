"""The decision journal: a decision is durable with one write, applied in the background,
replayed after a stop, and exactly one decision wins however it arrives."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from runtime.auth import add_user
from runtime.engine import DecisionReceipt, Engine
from runtime.errors import AccessError, DecisionError, NotFoundError, ReviewNotPendingError
from runtime.services import default_services
from runtime.spec import load_yaml
from runtime.store import Store

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
EXPENSE = load_yaml(EXAMPLES / "expense-approval.yaml")


def _item(i: int = 0) -> dict[str, Any]:
    return {"employee": f"e{i}", "amount": 300 + i, "category": "travel"}


def _waiting(engine: Engine, n: int) -> list[Any]:
    results = engine.start_many(EXPENSE, [_item(i) for i in range(n)])
    assert all(r.status == "waiting" for r in results)
    return results


def _decided_events(store: Store, review_id: str) -> int:
    return store.execute_readonly(
        "SELECT count(*) AS n FROM audit_events WHERE kind = 'review.decided' AND review_id = ?",
        [review_id],
    )[0]["n"]


def _journal_rows(store: Store) -> int:
    return store.execute_readonly("SELECT count(*) AS n FROM decision_journal")[0]["n"]


def test_a_recorded_decision_is_durable_at_once_and_applied_in_the_background(engine):
    run = _waiting(engine, 1)[0]
    receipt = engine.record_decision(run.review_id, {"action": "approve"}, by="mia")
    assert isinstance(receipt, DecisionReceipt)
    assert (receipt.review_id, receipt.run_id, receipt.decided_by) == (
        run.review_id,
        run.run_id,
        "mia",
    )
    # Held from the moment it is recorded: off the queue, and a second decision is refused.
    assert run.review_id not in {r["id"] for r in engine.store.list_pending_reviews()}
    with pytest.raises(ReviewNotPendingError, match="already decided by mia"):
        engine.decide(run.review_id, {"action": "reject", "reason": "over_policy"}, by="admin")
    assert engine.flush(timeout=30)
    done = engine.get_run(run.run_id)
    assert done.status == "succeeded" and done.result == "approved"
    assert _decided_events(engine.store, run.review_id) == 1
    ok, _, _ = engine.store.verify_audit_chain()
    assert ok


def test_a_refused_decision_is_refused_before_anything_is_written(engine):
    run = _waiting(engine, 1)[0]
    with pytest.raises(DecisionError, match="cannot take 'submit'"):
        engine.record_decision(run.review_id, {"action": "submit"}, by="mia")
    with pytest.raises(DecisionError, match="reason"):
        engine.record_decision(run.review_id, {"action": "reject"}, by="mia")
    with pytest.raises(DecisionError):
        engine.record_decision(
            run.review_id, {"action": "edit", "data": {"amount": "lots"}}, by="mia"
        )
    with pytest.raises(NotFoundError, match="does not exist"):
        engine.record_decision("rev_nope", {"action": "approve"}, by="mia")
    add_user(engine.store, "otto", roles=["reviewer"], teams=["finance"])
    with pytest.raises(AccessError, match="belongs to team managers"):
        engine.record_decision(run.review_id, {"action": "approve"}, by="otto")
    assert _journal_rows(engine.store) == 0
    assert engine.store.list_pending_reviews()[0]["id"] == run.review_id
    # An edit that fits is applied, and the corrected value is what the run goes on with.
    engine.record_decision(run.review_id, {"action": "edit", "data": {"amount": 250}}, by="mia")
    engine.flush(timeout=30)
    fb = engine.store.list_feedback()
    assert fb and fb[0]["human_output"] == 250 and fb[0]["ai_output"] == 300


def test_a_decision_on_a_review_another_engine_decided_names_who(tmp_db):
    store = Store(tmp_db)
    add_user(store, "mia", roles=["reviewer"], teams=["managers"])
    add_user(store, "max", roles=["reviewer"], teams=["managers"])
    first = Engine(store, services=default_services(store))
    run = _waiting(first, 1)[0]
    # A second Store on the same file in this process shares the held reviews and the chain.
    other_store = Store(tmp_db)
    second = Engine(other_store, services=default_services(other_store))
    first.record_decision(run.review_id, {"action": "approve"}, by="mia")
    with pytest.raises(ReviewNotPendingError, match="already decided by mia"):
        second.record_decision(run.review_id, {"action": "approve"}, by="max")
    first.flush(timeout=30)
    with pytest.raises(ReviewNotPendingError, match="already decided by mia"):
        second.decide(run.review_id, {"action": "approve"}, by="max")
    more = _waiting(second, 2)  # audit rows from both stores form one chain
    first.decide(more[0].review_id, {"action": "approve"}, by="mia")
    second.decide(more[1].review_id, {"action": "approve"}, by="max")
    ok, _, message = store.verify_audit_chain()
    assert ok, message
    other_store.close()
    store.close()


def test_eight_threads_recording_one_decision_exactly_one_wins(engine):
    for i in range(8):
        add_user(engine.store, f"r{i}", roles=["reviewer"], teams=["managers"])
    run = _waiting(engine, 1)[0]
    barrier = threading.Barrier(8)
    wins, refusals = [], []

    def decide(i: int) -> None:
        barrier.wait()
        try:
            wins.append(engine.record_decision(run.review_id, {"action": "approve"}, by=f"r{i}"))
        except ReviewNotPendingError as exc:
            refusals.append(exc)

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(wins) == 1 and len(refusals) == 7
    assert all(exc.decided_by == wins[0].decided_by for exc in refusals)
    engine.flush(timeout=30)
    assert _decided_events(engine.store, run.review_id) == 1


def test_recorded_bulk_and_deadline_decisions_on_the_same_reviews_never_both_win(engine):
    """Reviewers record decisions one by one while another decides the whole queue in bulk
    and the deadline sweep runs: each review is decided exactly once."""
    add_user(engine.store, "bulk", roles=["reviewer"], teams=["managers"])
    runs = _waiting(engine, 120)
    ids = [r.review_id for r in runs]
    recorded: list[str] = []
    start = threading.Barrier(3)

    def one_by_one() -> None:
        start.wait()
        for rid in ids[::-1]:
            try:
                engine.record_decision(rid, {"action": "approve"}, by="mia")
                recorded.append(rid)
            except ReviewNotPendingError:
                pass

    bulk_out: list[Any] = []

    def bulk() -> None:
        start.wait()
        for i in range(0, len(ids), 10):
            bulk_out.extend(engine.decide_many(ids[i : i + 10], {"action": "approve"}, by="bulk"))

    def sweeper() -> None:
        start.wait()
        for _ in range(5):
            engine.sweep(now=engine.clock() + timedelta(days=4))  # past every deadline

    threads = [threading.Thread(target=f) for f in (one_by_one, bulk, sweeper)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert engine.flush(timeout=60)
    rows = engine.store.execute_readonly(
        "SELECT review_id, count(*) AS n FROM audit_events "
        "WHERE kind IN ('review.decided', 'review.expired') AND review_id IN "
        "(SELECT unnest(?)) GROUP BY review_id",
        [ids],
    )
    assert len(rows) == len(ids) and all(r["n"] == 1 for r in rows)
    by_mia = engine.store.execute_readonly(
        "SELECT count(*) AS n FROM reviews WHERE decided_by = 'mia' AND id IN (SELECT unnest(?))",
        [ids],
    )[0]["n"]
    assert by_mia == len(recorded)  # every acknowledged decision is the one that counted
    assert _journal_rows(engine.store) <= len(recorded)
    ok, _, message = engine.store.verify_audit_chain()
    assert ok, message


def test_decisions_left_in_the_journal_are_applied_when_the_store_opens_again(tmp_db):
    store = Store(tmp_db)
    add_user(store, "mia", roles=["reviewer"], teams=["managers"])
    engine = Engine(store, services=default_services(store))
    runs = _waiting(engine, 3)
    engine._journal.submit = lambda journaled: None  # the process stops before applying anything
    for r in runs[:2]:
        engine.record_decision(r.review_id, {"action": "approve"}, by="mia")
    store.close()

    store = Store(tmp_db)
    assert _journal_rows(store) == 2
    engine = Engine(store, services=default_services(store))  # replays the journal
    assert [engine.get_run(r.run_id).status for r in runs] == ["succeeded"] * 2 + ["waiting"]
    assert _journal_rows(store) == 0
    assert all(_decided_events(store, r.review_id) == 1 for r in runs[:2])
    with pytest.raises(ReviewNotPendingError, match="already decided by mia"):
        engine.decide(runs[0].review_id, {"action": "approve"}, by="mia")
    ok, _, message = store.verify_audit_chain()
    assert ok, message
    store.close()


def test_a_decision_whose_run_cannot_go_on_is_reported_and_the_review_stays_pending(
    engine, monkeypatch
):
    run = _waiting(engine, 1)[0]

    def broken(*args: Any, **kwargs: Any) -> None:
        raise ZeroDivisionError("a bug in a node")

    monkeypatch.setattr(engine._stepper, "continue_run", broken)
    with pytest.raises(Exception, match="ZeroDivisionError: a bug in a node"):
        engine.decide(run.review_id, {"action": "approve"}, by="mia")
    failed = engine.store.audit_events(kind="review.decision_failed")
    assert failed and failed[0]["review_id"] == run.review_id
    assert engine.store.list_pending_reviews()[0]["id"] == run.review_id
    assert _journal_rows(engine.store) == 0  # not replayed on the next open
    monkeypatch.undo()
    assert engine.decide(run.review_id, {"action": "approve"}, by="mia").status == "succeeded"


def test_applied_journal_rows_are_tidied(engine):
    runs = _waiting(engine, 30)
    engine.batch_size = 10
    for r in runs:
        engine.record_decision(r.review_id, {"action": "approve"}, by="mia")
    assert engine.flush(timeout=60)
    assert _journal_rows(engine.store) <= 20  # removed a batch at a time, the rest when idle
    assert all(engine.get_run(r.run_id).status == "succeeded" for r in runs)


def test_recorded_decisions_are_applied_before_the_store_closes_or_python_exits(tmp_db):
    import subprocess
    import sys

    import duckdb

    store = Store(tmp_db)
    add_user(store, "mia", roles=["reviewer"], teams=["managers"])
    engine = Engine(store, services=default_services(store))
    engine.apply_linger = 30.0  # would wait for company long after close() is called
    runs = _waiting(engine, 4)
    engine.record_decision(runs[0].review_id, {"action": "approve"}, by="mia")
    store.close()
    con = duckdb.connect(str(tmp_db), read_only=True)
    status = dict(con.execute("SELECT id, status FROM runs").fetchall())
    con.close()
    assert status[runs[0].run_id] == "succeeded"

    script = (
        "import sys\n"
        "from runtime import open_engine\n"
        "engine = open_engine(sys.argv[1])\n"
        "engine.apply_linger = 30.0\n"
        "engine.record_decision(sys.argv[2], {'action': 'approve'}, by='mia')\n"
    )  # exits without flush() or close()
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_db), runs[1].review_id],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert done.returncode == 0, done.stderr
    con = duckdb.connect(str(tmp_db), read_only=True)
    status = dict(con.execute("SELECT id, status FROM runs").fetchall())
    con.close()
    assert status[runs[1].run_id] == "succeeded"  # applied at exit, not by a later replay
    assert [status[r.run_id] for r in runs[2:]] == ["waiting", "waiting"]


def test_closing_the_store_stops_the_applier_thread_first(tmp_path):
    """A daemon thread still inside DuckDB when Python exits aborts the process after the
    command succeeded ("terminate called after throwing ..."): closing must stop it."""
    store = Store(tmp_path / "close.duckdb")
    add_user(store, "mia", roles=["reviewer"], teams=["managers"])
    engine = Engine(store, services=default_services(store))
    run = _waiting(engine, 1)[0]
    engine.decide(run.review_id, {"action": "approve"}, by="mia")
    appliers = [t for t in threading.enumerate() if t.name == "loopgate-decisions"]
    assert appliers, "the applier idles for a while after applying"
    store.close()
    assert not any(t.is_alive() for t in appliers)
    assert not [t for t in threading.enumerate() if t.name == "loopgate-decisions"]
    with Store(tmp_path / "close.duckdb") as again:  # the journal was tidied before closing
        assert _journal_rows(again) == 0
        assert again.get_run(run.run_id)["status"] == "succeeded"
