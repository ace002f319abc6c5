"""Items 7 and 8: the database and its WAL are the user's alone (0600), health names no
path, and DuckDB never fetches an extension (a SQLite file as --db is refused, offline)."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from runtime.errors import StoreError
from runtime.store import Store
from runtime.store.duckdb.connection import DUCKDB_CONFIG
from tests.e2e.clihelp import loopgate


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_database_and_wal_are_created_0600_even_with_a_lax_umask(tmp_path: Path) -> None:
    db = tmp_path / "lg.duckdb"
    old = os.umask(0o022)
    try:
        store = Store(db)
        try:
            store.checkpoint()  # the WAL is deleted here, and made again by the next write
            from runtime.auth import add_user

            add_user(store, "kim", roles=["reviewer"], teams=[])
            wal = Path(str(db) + ".wal")
            assert wal.exists()
            assert _mode(db) == 0o600 and _mode(wal) == 0o600
        finally:
            store.close()
    finally:
        os.umask(old)


def test_an_existing_database_readable_by_others_is_tightened(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    Store(db).close()
    os.chmod(db, 0o644)
    Store(db).close()
    assert _mode(db) == 0o600


def test_a_sqlite_file_as_db_is_refused_without_reaching_out(tmp_path: Path, monkeypatch) -> None:
    db = tmp_path / "other.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (a)")
    con.commit()
    con.close()
    # Any attempt to download an extension would go through this (unreachable) proxy.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    with pytest.raises(StoreError, match="not a Loopgate database"):
        Store(db)
    res = loopgate(db, "runs", check=False)
    assert res.code == 1
    assert res.err.strip().splitlines() == [
        f"error: {db} is not a Loopgate database (a SQLite database); pass the Loopgate "
        "database with --db, or a new file name to create one"
    ]


def test_extensions_are_never_installed_or_loaded_automatically(tmp_path: Path) -> None:
    assert DUCKDB_CONFIG == {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }
    store = Store(tmp_path / "lg.duckdb")
    try:
        rows = store.execute_readonly(
            "SELECT current_setting('autoinstall_known_extensions') AS i, "
            "current_setting('autoload_known_extensions') AS l"
        )
        assert rows == [{"i": False, "l": False}]
    finally:
        store.close()


def test_health_does_not_print_the_database_path(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from runtime.api import create_api
    from runtime.engine import Engine
    from runtime.services import default_services

    store = Store(tmp_path / "secret-place.duckdb")
    try:
        eng = Engine(store, services=default_services(store))
        client = TestClient(create_api(lambda: eng, lambda: None))
        health = client.get("/health")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert "db" not in health.json() and "secret-place" not in health.text
    finally:
        store.close()
