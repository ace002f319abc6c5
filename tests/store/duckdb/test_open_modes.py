"""Opening a file: Loopgate's own, a new or empty one, another program's, and for reads only.

``create=False`` (what read commands pass) refuses a missing or empty file and creates no
folder; any open refuses a DuckDB file without Loopgate's ``schema_version`` mark instead
of giving it Loopgate's tables; ``data_version`` moves with every committed write.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from runtime.auth import add_user, set_disabled
from runtime.errors import StoreError
from runtime.store import Store, open_store


def _tables(path: Path) -> list[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return sorted(
            r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        )
    finally:
        con.close()


def _duckdb(path: Path, *statements: str) -> Path:
    con = duckdb.connect(str(path))
    for sql in statements:
        con.execute(sql)
    con.close()
    return path


def test_create_false_refuses_a_missing_file_and_makes_no_folder(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "x.duckdb"
    with pytest.raises(StoreError, match=f"^no database at {target}$"):
        Store(target, create=False)
    assert not (tmp_path / "sub").exists()
    with pytest.raises(StoreError, match="no database at"):
        open_store(target, create=False)


def test_create_false_opens_an_existing_loopgate_file(tmp_path: Path) -> None:
    path = tmp_path / "x.duckdb"
    store = Store(path)
    add_user(store, "mia", roles=["reviewer"], teams=["managers"])
    store.close()
    again = Store(path, create=False)
    try:
        assert again.get_user("mia")["teams"] == ["managers"]
    finally:
        again.close()


def test_a_zero_byte_file_is_initialised_by_a_write_and_refused_by_a_read(tmp_path: Path) -> None:
    path = tmp_path / "z.duckdb"
    path.touch()
    with pytest.raises(StoreError, match="is an empty file, not a Loopgate database"):
        Store(path, create=False)
    assert path.stat().st_size == 0
    store = Store(path)  # DuckDB alone refuses an empty file; Loopgate makes it a database
    try:
        assert store.schema_version() >= 1
    finally:
        store.close()


def test_an_empty_duckdb_file_is_initialised_by_a_write_only(tmp_path: Path) -> None:
    path = _duckdb(tmp_path / "e.duckdb")
    with pytest.raises(StoreError, match="is an empty DuckDB file, not a Loopgate database yet"):
        Store(path, create=False)
    assert _tables(path) == []
    Store(path).close()
    assert "schema_version" in _tables(path) and "runs" in _tables(path)


@pytest.mark.parametrize(
    "statements",
    [
        ["CREATE TABLE sales (id INTEGER)"],
        ["CREATE VIEW v AS SELECT 1 AS x"],
        ["CREATE SCHEMA crm", "CREATE TABLE crm.people (id INTEGER)"],
        ["CREATE TABLE schema_version (version INTEGER, note VARCHAR)"],  # a look-alike
        [
            "CREATE TABLE schema_version (version INTEGER, description VARCHAR)",
            "INSERT INTO schema_version VALUES (1, 'their own schema')",
        ],
    ],
)
def test_another_programs_duckdb_file_is_refused_and_left_alone(
    tmp_path: Path, statements: list[str]
) -> None:
    path = _duckdb(tmp_path / "f.duckdb", *statements)
    before = _tables(path)
    for create in (True, False):
        with pytest.raises(StoreError, match="is a DuckDB database of another program"):
            Store(path, create=create)
    assert _tables(path) == before


def test_an_interrupted_first_migration_is_finished(tmp_path: Path) -> None:
    path = _duckdb(
        tmp_path / "i.duckdb",
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description VARCHAR, "
        "applied_at TIMESTAMP)",
    )
    store = Store(path)
    try:
        assert store.schema_version() >= 1
    finally:
        store.close()


def test_data_version_moves_with_every_committed_write_on_the_file(tmp_path: Path) -> None:
    path = tmp_path / "v.duckdb"
    store, other = Store(path), Store(path)  # two stores on one file share it
    try:
        start = store.data_version()
        add_user(other, "mia", roles=["reviewer"], teams=[])
        after_add = store.data_version()
        assert after_add > start
        store.get_user("mia")  # a read moves nothing
        assert store.data_version() == after_add
        set_disabled(other, "mia", True)
        disabled = store.data_version()
        assert disabled > after_add
        with pytest.raises(StoreError):
            add_user(other, "mia", roles=["reviewer"], teams=[])  # rolled back
        assert store.data_version() == other.data_version() == disabled
    finally:
        store.close()
        other.close()
