"""The store: the contract a backend implements (``contract``) and the backends (``duckdb``)."""

from __future__ import annotations

from pathlib import Path

from runtime.domain import Event, WriteBatch
from runtime.store import contract
from runtime.store.duckdb import DuckDBStore, DuckDBUnitOfWork

# The Python API's name for the embedded store: ``Store("loopgate.duckdb")``.
Store = DuckDBStore

__all__ = ["DuckDBStore", "DuckDBUnitOfWork", "Event", "Store", "WriteBatch", "open_store"]


def open_store(
    path: str | Path, *, wait: float = 0.0, read_only: bool = False, create: bool = True
) -> contract.Store:
    """Open the store at ``path`` as the contract's ``Store``.

    Args:
        path: a DuckDB file (``:memory:`` for a throwaway store).
        wait: seconds to keep retrying while another process holds the file.
        read_only: open without the write lock.
        create: create a missing database (False: refuse it; what read commands pass).

    Returns:
        The backend for ``path`` (today always DuckDB).

    Raises:
        DatabaseLockedError: another process holds the file.
        StoreError: the file is not a Loopgate database or is from a newer version.
    """
    return DuckDBStore(path, wait=wait, read_only=read_only, create=create)
