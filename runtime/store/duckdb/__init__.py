"""The embedded DuckDB backend: one file, one process; every SQL statement of it lives here."""

from __future__ import annotations

from runtime.store.duckdb.audit import chain_hash
from runtime.store.duckdb.migrations import MIGRATIONS
from runtime.store.duckdb.rows import dumps, loads
from runtime.store.duckdb.store import DuckDBStore
from runtime.store.duckdb.unit_of_work import DuckDBUnitOfWork

__all__ = ["MIGRATIONS", "DuckDBStore", "DuckDBUnitOfWork", "chain_hash", "dumps", "loads"]
