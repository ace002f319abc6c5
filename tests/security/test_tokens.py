"""Item 7: API tokens can be listed (who holds one, never the token) and revoked, users
disabled, enabled and given a new password from the CLI, each change audited without
secrets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.auth import add_user, authenticate, issue_token, user_for_token
from runtime.errors import AccessError
from runtime.store import Store
from tests.e2e.clihelp import ROOT, loopgate


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "lg.duckdb"
    store = Store(path)
    add_user(store, "kim", roles=["reviewer"], teams=["t"], password="first-password")
    add_user(store, "lee", roles=["designer"], teams=[])
    store.close()
    return path


def _password(db: Path, stdin: str) -> subprocess.CompletedProcess:
    argv = ["users", "password", "kim", "--password-stdin", "--db", str(db)]
    return subprocess.run(
        [sys.executable, "-m", "runtime.cli", *argv],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def _events(db: Path) -> list[dict]:
    store = Store(db)
    try:
        rows = store.execute_readonly(
            "SELECT kind, actor, data FROM audit_events WHERE kind LIKE 'user.%' ORDER BY seq"
        )
    finally:
        store.close()
    return rows


def test_tokens_are_listed_without_being_shown_and_can_be_revoked(db: Path) -> None:
    token = loopgate(db, "users", "token", "kim").out.strip()
    assert token.startswith("lg_")
    assert loopgate(db, "users", "tokens").out.split() == ["kim"]
    listed = loopgate(db, "users", "list", "--json").lines
    assert {u["name"]: u["has_token"] for u in listed} == {"kim": True, "lee": False}
    assert token not in loopgate(db, "users", "list").out
    assert "(token)" in loopgate(db, "users", "list").out

    assert loopgate(db, "users", "token", "kim", "--revoke").out.strip() == "token of kim revoked"
    assert "no user holds a token" in loopgate(db, "users", "tokens").out
    again = loopgate(db, "users", "token", "kim", "--revoke").out
    assert "held no token" in again
    store = Store(db)
    try:
        with pytest.raises(AccessError, match="invalid API token"):
            user_for_token(store, token)
    finally:
        store.close()
    missing = loopgate(db, "users", "token", "nobody", "--revoke", check=False)
    assert missing.code == 1 and "nobody does not exist" in missing.err
    assert "intact" in loopgate(db, "audit", "verify").out
    assert token not in json.dumps(_events(db), default=str)


def test_disable_enable_and_password_from_the_cli_are_audited(db: Path) -> None:
    store = Store(db)
    token = issue_token(store, "kim")
    store.close()

    assert loopgate(db, "users", "disable", "kim").out.strip() == "user kim disabled"
    store = Store(db)
    try:
        with pytest.raises(AccessError):
            user_for_token(store, token)
        with pytest.raises(AccessError):
            authenticate(store, "kim", "first-password")
    finally:
        store.close()
    assert "already disabled" in loopgate(db, "users", "disable", "kim").out
    assert loopgate(db, "users", "enable", "kim").out.strip() == "user kim enabled"

    proc = _password(db, "second-password\n")
    assert proc.returncode == 0 and "password of kim changed" in proc.stdout, proc.stderr
    short = _password(db, "short\n")
    assert short.returncode == 1 and "at least 8 characters" in short.stderr
    assert "Traceback" not in short.stderr
    store = Store(db)
    try:
        assert authenticate(store, "kim", "second-password")["name"] == "kim"
        assert user_for_token(store, token)["name"] == "kim"  # enabled again
    finally:
        store.close()

    events = _events(db)
    changed = [e["data"]["changed"] for e in events if e["kind"] == "user.updated"]
    assert ["disabled"] in changed and ["password_hash"] in changed
    by_cli = [e["actor"] for e in events if e["data"].get("changed") == ["disabled"]]
    assert by_cli and all(a.startswith("cli") for a in by_cli)  # the account that ran the CLI
    text = json.dumps(events, default=str)
    assert "second-password" not in text and "argon2" not in text
    assert "intact" in loopgate(db, "audit", "verify").out
