"""The backends the conformance suite runs over: one ``store_factory`` param per backend.

A backend adds a param here and a factory class with the same three members: ``open()``
(a contract ``Store`` on the test's own database, the same database on every call),
``raw(sql)`` (run SQL on that database with no store open: how the tamper tests change
rows behind the store's back) and ``migrations`` (its migration descriptions, in order).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pytest

from runtime.store.contract import Store
from runtime.store.duckdb import MIGRATIONS, DuckDBStore


class StoreFactory(Protocol):
    """What a backend gives the conformance suite."""

    name: str
    migrations: list[str]

    def open(self) -> Store:
        """A store on the test's database (closed at the end of the test)."""
        ...

    def raw(self, sql: str) -> list[tuple[Any, ...]]:
        """Run SQL on the database directly (no store may be open); rows it returned."""
        ...


class DuckDBFactory:
    """DuckDB on a temp file."""

    name = "duckdb"
    migrations = [description for description, _ in MIGRATIONS]

    def __init__(self, path: Path):
        self.path = path
        self.opened: list[DuckDBStore] = []

    def open(self) -> Store:
        store = DuckDBStore(self.path)
        self.opened.append(store)
        return store

    def raw(self, sql: str) -> list[tuple[Any, ...]]:
        con = duckdb.connect(str(self.path))
        try:
            cur = con.execute(sql)
            return cur.fetchall() if cur.description else []
        finally:
            con.close()

    def close_all(self) -> None:
        for store in self.opened:
            store.close()


@pytest.fixture(params=["duckdb"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """One backend, on a database of the test's own."""
    if request.param == "duckdb":
        factory = DuckDBFactory(tmp_path / "contract.duckdb")
    else:  # pragma: no cover - a backend added to params without a factory
        raise AssertionError(request.param)
    yield factory
    factory.close_all()


@pytest.fixture
def store(store_factory: StoreFactory) -> Store:
    """A store of the backend under test."""
    return store_factory.open()
