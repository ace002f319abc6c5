"""DuckDBStore: the embedded backend, composed of one part per concern of the contract."""

from __future__ import annotations

from pathlib import Path

from runtime.store.duckdb.analytics import DuckDBAnalytics
from runtime.store.duckdb.catalog import DuckDBCatalog
from runtime.store.duckdb.escalation import DuckDBEscalation
from runtime.store.duckdb.forks import DuckDBForks
from runtime.store.duckdb.outbox import DuckDBOutbox
from runtime.store.duckdb.reads import DuckDBReadModel
from runtime.store.duckdb.votes import DuckDBVoteReads


class DuckDBStore(
    DuckDBCatalog,
    DuckDBOutbox,
    DuckDBEscalation,
    DuckDBReadModel,
    DuckDBVoteReads,
    DuckDBAnalytics,
    DuckDBForks,
):
    """A Loopgate database: one DuckDB file, opened by one process.

    Implements ``runtime.store.contract.Store``. Each base owns one concern, all on
    :class:`~runtime.store.duckdb.connection.DuckDBConnection` (the file, its shared state,
    transactions): :class:`~runtime.store.duckdb.audit.DuckDBAuditLog` (the chain),
    :class:`~runtime.store.duckdb.unit_of_work.DuckDBWrites` (units of work and the write
    path), :class:`~runtime.store.duckdb.runs.DuckDBRunLedger` (runs, claims, holds, the
    journal), :class:`~runtime.store.duckdb.reads.DuckDBReadModel` (queue and run lists),
    :class:`~runtime.store.duckdb.catalog.DuckDBCatalog` (workflows, users, models,
    records), :class:`~runtime.store.duckdb.outbox.DuckDBOutbox` and
    :class:`~runtime.store.duckdb.analytics.DuckDBAnalytics` (the dashboards' aggregates),
    :class:`~runtime.store.duckdb.forks.DuckDBForks` (checkpoint data and forks' origins).
    :class:`~runtime.store.duckdb.escalation.DuckDBEscalation` (chain steps, SLAs,
    delegations).

    Example:
        >>> store = DuckDBStore(":memory:")
        >>> store.schema_version() >= 1
        True
        >>> store.close()
    """

    def __init__(
        self,
        path: str | Path,
        *,
        wait: float = 0.0,
        read_only: bool = False,
        create: bool = True,
    ):
        """Open (and create or migrate) the database file.

        Args:
            path: the file; ``:memory:`` for a throwaway store.
            wait: seconds to keep retrying while another process holds the file.
            read_only: open without the write lock (other readers allowed, no writers).
            create: create a missing file (False: refuse it, as read commands do).

        Raises:
            DatabaseLockedError: another process holds the file (names it and its PID).
            StoreError: no database at ``path`` (``create`` False), the file is not a
                Loopgate database or is from a newer version.
        """
        super().__init__(path, wait=wait, read_only=read_only, create=create)
