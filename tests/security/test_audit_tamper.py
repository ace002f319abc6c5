"""Item 5 of the security issue: the audit trail catches every kind of tampering.

Each test builds a real trail through the engine (closed), tampers with the file through
plain DuckDB SQL as someone holding the database but not the key file would, reopens it,
and asserts that verification fails naming what was done.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from runtime.auth import add_user
from runtime.engine import Engine
from runtime.services import default_services
from runtime.spec import load_yaml
from runtime.store import Store
from runtime.store.duckdb.audit import chain_hash
from runtime.store.duckdb.connection import GENESIS
from tests.e2e.clihelp import EXAMPLES, loopgate

SMALL = 220  # auto-approved runs: ~6 audit rows each, well over 500 rows in all


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A closed trail: many finished runs, an approved, a rejected and a cancelled review."""
    db = tmp_path_factory.mktemp("trail") / "trail.duckdb"
    store = Store(db)
    engine = Engine(store, services=default_services(store))
    add_user(store, "mia", roles=["reviewer"], teams=["managers"])
    add_user(store, "ops", roles=["operator"], teams=[])
    wf = load_yaml(EXAMPLES / "expense-approval.yaml")
    items = [
        {"employee": f"e{i}", "amount": 10 + i % 40, "category": "meals"} for i in range(SMALL)
    ]
    engine.start_many(wf, items)
    big = [
        engine.start(wf, {"employee": who, "amount": 300, "category": "travel"})
        for who in ("ann", "bob", "cy")
    ]
    engine.decide(big[0].review_id, {"action": "approve"}, by="mia")
    engine.decide(big[1].review_id, {"action": "reject", "reason": "over_policy"}, by="mia")
    engine.cancel(big[2].run_id, by="ops", reason="duplicate")
    store.close()
    return db


@pytest.fixture
def db(template: Path, tmp_path: Path) -> Iterator[Path]:
    """A copy of the trail and its key file, for one test to tamper with."""
    target = tmp_path / "trail.duckdb"
    for suffix in ("", ".wal", ".auditkey"):
        src = Path(str(template) + suffix)
        if src.exists():
            shutil.copy2(src, str(target) + suffix)
    yield target


def sql(db: Path, statement: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Tamper through plain DuckDB, no store open."""
    con = duckdb.connect(str(db))
    try:
        cur = con.execute(statement, params or [])
        return cur.fetchall() if cur.description else []
    finally:
        con.close()


def verify(db: Path, *, read_only: bool = False) -> tuple[bool, int, str]:
    with Store(db, read_only=read_only) as store:
        return store.verify_audit_chain()


def last_seq(db: Path) -> int:
    return sql(db, "SELECT max(seq) FROM audit_events")[0][0]


REOPEN = pytest.mark.parametrize("read_only", [False, True], ids=["reopened", "read-only"])


# ---------------------------------------------------------------- untouched


def test_an_untouched_trail_verifies_after_reopening(db: Path) -> None:
    n = last_seq(db)
    assert n > 500
    ok, checked, message = verify(db)
    assert ok, message
    assert checked == n
    assert f"intact: {n} rows, sealed at {n}, 3 reviews and {SMALL + 3} runs cross-checked" in (
        message
    )
    assert verify(db, read_only=True)[0]
    # It still verifies after more work, and the key file is the user's alone.
    with Store(db) as store:
        engine = Engine(store, services=default_services(store))
        engine.start("expense-approval", {"employee": "z", "amount": 5, "category": "meals"})
        assert store.verify_audit_chain()[0]
    assert os.stat(str(db) + ".auditkey").st_mode & 0o777 == 0o600


def test_the_cli_says_intact_or_names_the_problem(db: Path) -> None:
    good = loopgate(db, "audit", "verify")
    assert "intact" in good.out and "cross-checked" in good.out
    sql(db, "UPDATE reviews SET decided_by = 'eve' WHERE decided_by = 'mia' AND action = 'approve'")
    bad = loopgate(db, "audit", "verify", check=False)
    assert bad.code == 1
    assert "decided_by 'eve'" in bad.err + bad.out


# ---------------------------------------------------------------- the chain's tail and head


@REOPEN
def test_deleting_the_last_row_is_caught(db: Path, read_only: bool) -> None:
    n = last_seq(db)
    sql(db, "DELETE FROM audit_events WHERE seq = ?", [n])
    ok, _, message = verify(db, read_only=read_only)
    assert not ok
    assert f"the trail ends at row {n - 1} but was sealed at row {n}" in message


@REOPEN
def test_deleting_the_last_500_rows_is_caught(db: Path, read_only: bool) -> None:
    n = last_seq(db)
    sql(db, "DELETE FROM audit_events WHERE seq > ?", [n - 500])
    ok, _, message = verify(db, read_only=read_only)
    assert not ok
    assert f"the trail ends at row {n - 500} but was sealed at row {n}" in message


@REOPEN
def test_appending_a_forged_row_with_a_correct_hash_is_caught(db: Path, read_only: bool) -> None:
    n, prev = sql(db, "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")[0]
    at = sql(db, "SELECT max(occurred_at) FROM audit_events")[0][0]
    data = '{"action":"approve"}'
    digest = chain_hash(
        bytes(prev), n + 1, at, "review.decided", "run_x", "rev_x", "m", "eve", data
    )
    sql(
        db,
        "INSERT INTO audit_events VALUES (?, ?, 'review.decided', 'run_x', 'rev_x', 'm', 'eve', "
        "?, ?, ?)",
        [n + 1, at, data, bytes(prev), digest],
    )
    ok, _, message = verify(db, read_only=read_only)
    assert not ok
    assert "1 rows after the last seal" in message and f"sealed at row {n}" in message


@REOPEN
def test_changing_a_row_and_recomputing_the_chain_is_caught(db: Path, read_only: bool) -> None:
    con = duckdb.connect(str(db))
    rows = con.execute(
        "SELECT seq, occurred_at, kind, run_id, review_id, node_id, actor, "
        "CAST(data AS VARCHAR) FROM audit_events ORDER BY seq"
    ).fetchall()
    target = next(r[0] for r in rows if r[2] == "review.decided")
    prev = GENESIS
    fixed = []
    for seq, at, kind, run_id, review_id, node_id, actor, data in rows:
        if seq == target:
            actor = "eve"
        digest = chain_hash(prev, seq, at, kind, run_id, review_id, node_id, actor, data)
        fixed.append((seq, actor, prev, digest))
        prev = digest
    con.execute("CREATE TEMP TABLE fix (seq BIGINT, actor VARCHAR, p BLOB, h BLOB)")
    con.executemany("INSERT INTO fix VALUES (?, ?, ?, ?)", fixed)
    con.execute(
        "UPDATE audit_events SET actor = fix.actor, prev_hash = fix.p, hash = fix.h "
        "FROM fix WHERE audit_events.seq = fix.seq"
    )
    con.execute(
        "UPDATE reviews SET decided_by = 'eve' WHERE id = "
        "(SELECT review_id FROM audit_events WHERE seq = ?)",
        [target],
    )
    con.close()
    ok, _, message = verify(db, read_only=read_only)
    assert not ok
    assert f"the seal at row {len(rows)} does not match: the chain was rewritten" in message


# ---------------------------------------------------------------- the seal and its key


@REOPEN
def test_changing_the_seal_without_the_key_is_caught(db: Path, read_only: bool) -> None:
    n = last_seq(db)
    sql(db, "DELETE FROM audit_events WHERE seq = ?", [n])
    sql(db, "UPDATE audit_seal SET seq = seq - 1, row_count = row_count - 1")
    ok, _, message = verify(db, read_only=read_only)
    assert not ok
    assert "the seal (at row" in message and "was changed without the key" in message


def test_deleting_the_seal_is_caught(db: Path) -> None:
    sql(db, "DELETE FROM audit_seal")
    ok, _, message = verify(db)
    assert not ok
    assert "rows but no seal (the seal was deleted)" in message


@REOPEN
def test_a_missing_key_file_says_where_it_looked_and_what_to_do(db: Path, read_only: bool) -> None:
    key = Path(str(db) + ".auditkey")
    key.unlink()
    ok, _, message = verify(db, read_only=read_only)
    assert not ok
    assert f"the audit key file {key} is missing" in message
    assert "restore" in message and "LOOPGATE_AUDIT_KEY_FILE" in message
    assert not key.exists(), "a sealed trail never gets a fresh key silently"


def test_a_wrong_key_file_is_named(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other.key"
    fd = os.open(other, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, b"ab" * 32)
    os.close(fd)
    monkeypatch.setenv("LOOPGATE_AUDIT_KEY_FILE", str(other))
    ok, _, message = verify(db)
    assert not ok
    assert f"the audit key file {other} holds key" in message


def test_a_key_file_others_can_read_is_refused(db: Path) -> None:
    key = Path(str(db) + ".auditkey")
    key.chmod(0o644)
    ok, _, message = verify(db, read_only=True)
    assert not ok
    assert "mode 0644" in message and f"chmod 600 {key}" in message


def test_a_symlinked_key_file_is_not_followed(tmp_path: Path) -> None:
    db = tmp_path / "fresh.duckdb"
    planted = tmp_path / "planted"
    planted.write_text("ab" * 32)
    Path(str(db) + ".auditkey").symlink_to(planted)
    with Store(db) as store:
        ok, _, message = store.verify_audit_chain()
    assert not ok
    assert "not a symlink" in message


def test_the_key_file_can_live_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = tmp_path / "keys" / "audit.key"
    key.parent.mkdir()
    monkeypatch.setenv("LOOPGATE_AUDIT_KEY_FILE", str(key))
    db = tmp_path / "elsewhere.duckdb"
    with Store(db) as store:
        Engine(store, services=default_services(store)).start(
            load_yaml(EXAMPLES / "expense-approval.yaml"),
            {"employee": "a", "amount": 5, "category": "meals"},
        )
    assert key.exists() and not Path(str(db) + ".auditkey").exists()
    assert verify(db)[0]


# ---------------------------------------------------------------- the authoritative tables


def _decided(db: Path, action: str) -> str:
    return sql(db, "SELECT id FROM reviews WHERE action = ?", [action])[0][0]


def test_changing_who_decided_a_review_is_caught(db: Path) -> None:
    rid = _decided(db, "approve")
    sql(db, "UPDATE reviews SET decided_by = 'eve' WHERE id = ?", [rid])
    ok, _, message = verify(db)
    assert not ok
    assert f"review {rid}" in message and "decided_by 'eve'" in message
    assert "'mia'" in message and "behind the trail's back" in message


def test_changing_a_reviews_action_is_caught(db: Path) -> None:
    rid = _decided(db, "reject")
    sql(db, "UPDATE reviews SET action = 'approve' WHERE id = ?", [rid])
    ok, _, message = verify(db)
    assert not ok
    assert f"review {rid}" in message and "action 'approve'" in message and "'reject'" in message


def test_deciding_a_pending_review_behind_the_trail_is_caught(db: Path) -> None:
    sql(
        db,
        "UPDATE reviews SET status = 'decided', decided_by = 'mia', action = 'approve' "
        "WHERE status = 'cancelled'",
    )
    ok, _, message = verify(db)
    assert not ok and "behind the trail's back" in message


def test_changing_a_runs_result_is_caught(db: Path) -> None:
    rid = sql(db, "SELECT id FROM runs WHERE result = 'rejected'")[0][0]
    sql(db, "UPDATE runs SET result = 'approved' WHERE id = ?", [rid])
    ok, _, message = verify(db)
    assert not ok
    assert f"run {rid}" in message and "result 'approved'" in message and "'rejected'" in message


def test_many_changes_are_counted(db: Path) -> None:
    sql(db, "UPDATE runs SET result = 'rejected' WHERE result = 'approved'")
    ok, _, message = verify(db)
    assert not ok
    assert f"(and {SMALL} more problems)" in message
