"""The DuckDB store: migrations, the audit hash chain, claiming reviews, exports, the file lock."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime

import duckdb
import pytest

from runtime.domain import Event, Settlement
from runtime.engine import BatchItemError
from runtime.errors import DatabaseLockedError, NotFoundError, ReviewNotPendingError, StoreError
from runtime.nodes import Decision
from runtime.spec import parse_spec
from runtime.store import Store
from runtime.store.duckdb.migrations import MIGRATIONS

APPROVAL_FLOW = parse_spec(
    {
        "id": "store-test",
        "name": "Store test",
        "input": {"amount": {"type": "number", "required": True}},
        "nodes": [
            {"id": "start", "type": "trigger"},
            {
                "id": "check",
                "type": "approval",
                "params": {"team": "managers", "editable": ["amount"], "reason_codes": ["no"]},
            },
            {"id": "done", "type": "end"},
        ],
        "edges": [
            {"from": "start", "to": "check"},
            {"from": "check", "to": "done", "branch": "approved"},
            {"from": "check", "to": "done", "branch": "rejected"},
        ],
    }
)


def count(store: Store, table: str) -> int:
    return store.execute_readonly(f"SELECT count(*) AS n FROM {table}")[0]["n"]


# ---------------------------------------------------------------- migrations


def test_migrations_are_idempotent_on_reopen(tmp_db):
    with Store(tmp_db) as store:
        assert store.schema_version() == len(MIGRATIONS)
        store.append_events([Event(kind="test.event", data={"n": 1})])
    for _ in range(2):
        with Store(tmp_db) as store:
            assert store.schema_version() == len(MIGRATIONS)
            versions = store.execute_readonly("SELECT version FROM schema_version ORDER BY 1")
            assert [r["version"] for r in versions] == list(range(1, len(MIGRATIONS) + 1))
            assert count(store, "audit_events") == 1  # data survives reopening
    tables = {
        r[0]
        for r in duckdb.connect(str(tmp_db), read_only=True)
        .execute("SELECT table_name FROM information_schema.tables")
        .fetchall()
    }
    assert {
        "workflows",
        "runs",
        "reviews",
        "audit_events",
        "feedback",
        "records",
        "outbox",
        "users",
        "schema_version",
        "steps",
        "decisions",
    } <= tables


def test_a_newer_schema_is_refused(tmp_db):
    Store(tmp_db).close()
    con = duckdb.connect(str(tmp_db))
    con.execute("INSERT INTO schema_version VALUES (999, 'from the future', now())")
    con.close()
    with pytest.raises(StoreError, match="newer than this Loopgate"):
        Store(tmp_db)


def test_a_file_that_is_not_a_database_is_refused(tmp_path):
    bad = tmp_path / "not-a-db.duckdb"
    bad.write_text("hello, I am text\n" * 100)
    with pytest.raises(StoreError) as info:
        Store(bad)
    assert str(bad) in str(info.value)


def test_read_only_store_refuses_writes(tmp_db):
    Store(tmp_db).close()
    with Store(tmp_db, read_only=True) as store, pytest.raises(StoreError, match="read-only"):
        store.append_events([Event(kind="x")])


# ---------------------------------------------------------------- audit chain


def _fill_chain(tmp_db, n: int = 6) -> None:
    with Store(tmp_db) as store:
        for i in range(n):
            store.append_events(
                [
                    Event(
                        kind="test.event",
                        run_id=f"run_{i}",
                        actor="mia",
                        data={"i": i, "text": "héllo"},
                    )
                ]
            )


def _tamper(tmp_db, sql: str) -> None:
    con = duckdb.connect(str(tmp_db))
    con.execute(sql)
    con.close()


def test_audit_chain_verifies(tmp_db):
    _fill_chain(tmp_db)
    with Store(tmp_db) as store:
        ok, checked, message = store.verify_audit_chain()
        assert (ok, checked) == (True, 6)
        assert "intact" in message
        # appending after reopening continues the chain
        store.append_events([Event(kind="test.more"), Event(kind="test.more", data={"x": 1})])
        assert store.verify_audit_chain()[:2] == (True, 8)
    with Store(tmp_db) as store:
        assert store.verify_audit_chain()[:2] == (True, 8)


@pytest.mark.parametrize(
    "sql",
    [
        'UPDATE audit_events SET data = \'{"i":99,"text":"héllo"}\' WHERE seq = 3',
        "UPDATE audit_events SET actor = 'eve' WHERE seq = 3",
        "UPDATE audit_events SET occurred_at = occurred_at + INTERVAL 1 SECOND WHERE seq = 3",
        "UPDATE audit_events SET kind = 'test.other' WHERE seq = 3",
    ],
    ids=["data", "actor", "time", "kind"],
)
def test_audit_chain_detects_an_altered_row(tmp_db, sql):
    _fill_chain(tmp_db)
    _tamper(tmp_db, sql)
    with Store(tmp_db) as store:
        ok, checked, message = store.verify_audit_chain()
    assert not ok
    assert checked == 2
    assert "audit row 3" in message and "altered" in message


def test_audit_chain_detects_a_deleted_row(tmp_db):
    _fill_chain(tmp_db)
    _tamper(tmp_db, "DELETE FROM audit_events WHERE seq = 4")
    with Store(tmp_db) as store:
        ok, checked, message = store.verify_audit_chain()
    assert not ok and checked == 3
    assert "audit row 4 is missing" in message


def test_audit_chain_detects_a_rewritten_link(tmp_db):
    _fill_chain(tmp_db)
    # Re-hash nothing, just renumber: the row no longer links to its predecessor.
    _tamper(
        tmp_db,
        "DELETE FROM audit_events WHERE seq = 2; "
        "UPDATE audit_events SET seq = seq - 1 WHERE seq > 2",
    )
    with Store(tmp_db) as store:
        ok, _, message = store.verify_audit_chain()
    assert not ok
    assert "audit row 2" in message


# ---------------------------------------------------------------- settling reviews


def _pending_review(engine) -> str:
    res = engine.start(APPROVAL_FLOW, {"amount": 70})
    assert res.status == "waiting"
    return res.review_id


def _settle(review_id: str, by: str, at: datetime, action: str = "approve") -> Settlement:
    return Settlement(
        id=review_id, status="decided", decided_by=by, decided_at=at, action=action, note="ok"
    )


def test_a_review_is_settled_exactly_once(engine):
    store = engine.store
    review_id = _pending_review(engine)
    claim = store.review_claim(review_id)
    assert claim.id == review_id and claim.status == "pending"
    assert claim.node_id == "check" and claim.kind == "approval"
    assert claim.run.item == {"amount": 70}
    at = datetime(2026, 1, 5, 9, 30, 0)
    with store.unit_of_work() as uow:
        assert uow.settle([_settle(review_id, "mia", at)]) == {review_id}
    row = store.get_review(review_id)
    assert (row["status"], row["decided_by"], row["action"]) == ("decided", "mia", "approve")
    with store.unit_of_work() as uow:  # the loser changes nothing
        assert uow.settle([_settle(review_id, "admin", at, "reject")]) == set()
    assert store.get_review(review_id)["decided_by"] == "mia"
    with pytest.raises(ReviewNotPendingError) as info:
        store.review_claim(review_id)
    err = info.value
    assert (err.status, err.decided_by) == ("decided", "mia")
    assert err.decided_at == "2026-01-05T09:30:00Z"
    assert "already decided by mia at 2026-01-05T09:30:00Z" in str(err)
    with pytest.raises(NotFoundError, match="rev_nope does not exist"):
        store.review_claim("rev_nope")


def test_settling_many_reviews_is_one_statement_whatever_their_number(engine):
    store = engine.store
    ids = [_pending_review(engine) for _ in range(20)]  # above the small-batch VALUES path
    at = datetime(2026, 1, 5, 9, 30, 0)
    with store.unit_of_work() as uow:
        first = uow.settle([_settle(r, "mia", at) for r in ids[:3]])
        rest = uow.settle([_settle(r, "admin", at) for r in ids])
    assert first == set(ids[:3]) and rest == set(ids[3:])
    by = {
        r["id"]: r["decided_by"]
        for r in store.execute_readonly(
            "SELECT id, decided_by FROM reviews WHERE id IN (SELECT unnest(?))", [ids]
        )
    }
    assert [by[r] for r in ids] == ["mia"] * 3 + ["admin"] * 17


def test_a_settle_in_a_failed_transaction_is_undone(engine):
    store = engine.store
    review_id = _pending_review(engine)
    with pytest.raises(RuntimeError), store.unit_of_work() as uow:
        uow.settle([_settle(review_id, "mia", datetime(2026, 1, 1))])
        raise RuntimeError("boom")
    assert store.get_review(review_id)["status"] == "pending"
    assert [r["id"] for r in store.list_pending_reviews()] == [review_id]


def test_concurrent_decisions_exactly_one_wins(engine):
    review_id = _pending_review(engine)
    barrier = threading.Barrier(8)
    results, errors = [], []

    def decide(user: str) -> None:
        barrier.wait()
        try:
            results.append(engine.decide(review_id, Decision(action="approve"), by=user))
        except ReviewNotPendingError as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=decide, args=("mia" if i % 2 else "admin",)) for i in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 1 and len(errors) == 7
    assert results[0].status == "succeeded"
    winner = engine.store.get_review(review_id)["decided_by"]
    assert all(e.decided_by == winner for e in errors)
    decided = engine.store.audit_events(kind="review.decided")
    assert len(decided) == 1
    assert engine.store.verify_audit_chain()[0]


def test_decide_many_with_the_same_review_twice(engine):
    review_id = _pending_review(engine)
    out = engine.decide_many([review_id, review_id], Decision(action="approve"), by="mia")
    assert len(engine.store.audit_events(kind="review.decided")) == 1
    assert out[0].status == "succeeded"
    assert isinstance(out[1], BatchItemError)
    assert "already decided by mia" in out[1].error


def test_decide_many_reports_each_review_that_cannot_take_the_decision(engine):
    first, second, third = (_pending_review(engine) for _ in range(3))
    engine.decide(second, Decision(action="approve"), by="admin")
    out = engine.decide_many(
        [first, second, "rev_nope", third], Decision(action="reject", reason="no"), by="mia"
    )
    assert [type(r).__name__ for r in out] == [
        "RunResult",
        "BatchItemError",
        "BatchItemError",
        "RunResult",
    ]
    assert "already decided by admin" in out[1].error and out[1].index == 1
    assert "rev_nope does not exist" in out[2].error
    assert engine.store.get_review(first)["action"] == "reject"
    assert engine.store.get_review(second)["action"] == "approve"  # unchanged
    assert len(engine.store.audit_events(kind="review.decided")) == 3


# ---------------------------------------------------------------- export


@pytest.fixture(scope="module")
def busy_store(tmp_path_factory):
    """A store with runs, decisions (approve, edit, reject) and feedback; built once."""
    from runtime.auth import add_user
    from runtime.engine import Engine

    store = Store(tmp_path_factory.mktemp("busy") / "busy.duckdb")
    add_user(store, "mia", roles=["reviewer"], teams=["managers"])
    add_user(store, "admin", roles=["admin"], teams=[])
    engine = Engine(store)
    for _ in range(4):
        _pending_review(engine)
    pending = [r["id"] for r in store.list_pending_reviews()]
    engine.decide(pending[0], Decision(action="approve"), by="mia")
    engine.decide(pending[1], Decision(action="edit", data={"amount": 5}), by="mia")
    engine.decide(pending[2], Decision(action="reject", reason="no"), by="admin")
    yield store
    store.close()


_READERS = {
    "csv": "read_csv_auto('{p}', header=true)",
    "parquet": "read_parquet('{p}')",
    "jsonl": "read_json_auto('{p}', format='newline_delimited')",
}
_SOURCES = {
    "audit": "audit_events",
    "decisions": "decisions",
    "feedback": "feedback",
    "runs": "runs",
    "reviews": "reviews",
}


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
@pytest.mark.parametrize("kind", ["audit", "decisions", "feedback", "runs", "reviews"])
def test_export_row_counts(busy_store, tmp_path, kind, fmt):
    store = busy_store
    expected = count(store, _SOURCES[kind])
    assert expected > 0
    out = tmp_path / "out" / f"{kind}.{fmt}"
    assert store.export(kind, fmt, out) == expected
    con = duckdb.connect()
    rows = con.execute(f"SELECT count(*) FROM {_READERS[fmt].format(p=out)}").fetchone()[0]
    assert rows == expected
    if fmt == "jsonl":
        assert len(out.read_text().splitlines()) == expected
    if kind == "decisions":
        actions = {
            r[0]
            for r in con.execute(f"SELECT decision FROM {_READERS[fmt].format(p=out)}").fetchall()
        }
        assert actions == {"approve", "edit", "reject"}


def test_export_of_an_empty_table(store, tmp_path):
    out = tmp_path / "feedback.csv"
    assert store.export("feedback", "csv", out) == 0
    assert out.exists()


def test_export_refuses_unknown_kinds_and_formats(store, tmp_path):
    with pytest.raises(StoreError, match="unknown export 'users'"):
        store.export("users", "csv", tmp_path / "x.csv")
    with pytest.raises(StoreError, match="unknown format 'xml'"):
        store.export("audit", "xml", tmp_path / "x.xml")


def test_export_to_a_path_with_a_quote(store, tmp_path):
    store.append_events([Event(kind="x")])
    out = tmp_path / "it's here.csv"
    assert store.export("audit", "csv", out) == 1
    assert out.exists()


# ---------------------------------------------------------------- the file lock

HOLDER = textwrap.dedent("""
    import sys, time
    from runtime.store import Store
    store = Store(sys.argv[1])
    print("ready", flush=True)
    time.sleep(float(sys.argv[2]))
    store.close()
""")


def hold(path, seconds: float) -> subprocess.Popen:
    """A process that opens the store and holds it; returns once the file is held."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), str(seconds)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        raise AssertionError(f"holder did not start: {line!r} {proc.stderr.read()}")
    return proc


def test_a_locked_file_names_the_file_and_the_process(tmp_db):
    Store(tmp_db).close()
    proc = hold(tmp_db, 60)
    try:
        started = time.monotonic()
        with pytest.raises(DatabaseLockedError) as info:
            Store(tmp_db)
        assert time.monotonic() - started < 5  # no waiting by default
        message = str(info.value)
        assert str(tmp_db) in message
        assert f"process {proc.pid}" in message
        assert "--wait" in message
        with pytest.raises(DatabaseLockedError):
            Store(tmp_db, wait=0.3)
    finally:
        proc.kill()
        proc.wait()


def test_wait_succeeds_once_the_holder_exits(tmp_db):
    Store(tmp_db).close()
    proc = hold(tmp_db, 1.0)
    try:
        started = time.monotonic()
        with Store(tmp_db, wait=20) as store:
            waited = time.monotonic() - started
            assert store.schema_version() == len(MIGRATIONS)
        assert 0.5 < waited < 20  # it had to wait for the holder to let go
        assert proc.wait(10) == 0
    finally:
        proc.kill()
        proc.wait()
