"""Opening a DuckDB file, the state its stores share, transactions and insert helpers."""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Self

import duckdb

from runtime.errors import DatabaseLockedError, StoreError
from runtime.store.duckdb.migrations import MIGRATIONS, migrate
from runtime.store.duckdb.rows import JSON_COLUMNS

GENESIS = b"\x00" * 32  # the "previous hash" of the first audit row
SMALL_BATCH = 12  # up to this many rows: one INSERT ... VALUES; above: one INSERT from Arrow

_LOCK_RE = re.compile(r"Conflicting lock is held in (?P<exe>.*?) \(PID (?P<pid>\d+)\)")


@dataclass
class FileState:
    """What every store open on one file in this process shares.

    DuckDB lets one process open a file twice; both stores then share the write lock, the
    audit chain's head, the journal's sequence and the held reviews.
    """

    lock: threading.RLock = field(default_factory=threading.RLock)
    # Reviews being decided (journaled, or claimed by an open batch): id -> (status, by,
    # at). Exactly one decider wins because every path that resolves a review holds it
    # here first (see DuckDBRunLedger.hold_reviews).
    held: dict[str, tuple[str, str, datetime]] = field(default_factory=dict)
    held_lock: threading.Lock = field(default_factory=threading.Lock)
    head_seq: int = 0
    head_hash: bytes = GENESIS
    journal_seq: int = 0
    users: int = 0
    # Bumped by every committed write transaction: what a cache of rows (the engine's
    # users) compares to know the file changed since it read them.
    data_version: int = 0


_OPEN: dict[str, FileState] = {}
_OPEN_LOCK = threading.Lock()


# DuckDB never fetches or loads an extension on its own: a file it cannot read natively (a
# SQLite database passed as --db, say) would otherwise make it download ``sqlite_scanner``.
# What the store needs (json, parquet, icu) is linked into the Python package.
DUCKDB_CONFIG: dict[str, Any] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}
_DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file
_PRIVATE = 0o077  # group and other permission bits


def keep_files_private() -> None:
    """Add group/other bits to the process umask, so what it creates next is the user's alone.

    DuckDB deletes the WAL at every checkpoint and creates it again at the next write, so a
    mode set once on the files would not last: the umask is what keeps the database and its
    WAL 0600 (and exports and the hand-off file with them).
    """
    old = os.umask(_PRIVATE)
    os.umask(old | _PRIVATE)


def _tighten(path: str) -> None:
    """Drop group/other bits from an existing database file and WAL this user owns."""
    for name in (path, path + ".wal"):
        with contextlib.suppress(OSError):
            st = os.lstat(name)
            if st.st_uid == os.geteuid() and st.st_mode & _PRIVATE and not os.path.islink(name):
                os.chmod(name, st.st_mode & 0o700)


def check_database_file(path: str) -> None:
    """Refuse a file that exists but is not a DuckDB database, before DuckDB reads it.

    Raises:
        StoreError: the file is not a Loopgate (DuckDB) database; names what it looks like.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except (FileNotFoundError, IsADirectoryError):
        return
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror}") from None
    if not head or head[8:12] == _DUCKDB_MAGIC:
        return  # a new (empty) file, or a DuckDB database
    kind = "a SQLite database" if head.startswith(b"SQLite format 3") else "not a DuckDB file"
    raise StoreError(
        f"{path} is not a Loopgate database ({kind}); pass the Loopgate database with "
        "--db, or a new file name to create one"
    )


def _drop_if_empty(path: str) -> None:
    """Remove a zero-byte file of this user's (``touch``, ``mktemp``) so DuckDB can create
    the database there; DuckDB itself refuses an empty file as "not a valid database"."""
    with contextlib.suppress(OSError):
        st = os.lstat(path)
        if (
            stat.S_ISREG(st.st_mode)
            and st.st_size == 0
            and st.st_uid == os.geteuid()
            and not os.path.exists(path + ".wal")
        ):
            os.unlink(path)


def _describe(names: list[str]) -> str:
    shown = ", ".join(names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def schema_kind(cur: duckdb.DuckDBPyConnection) -> tuple[str, list[str]]:
    """What a DuckDB file holds: ``("loopgate", [])``, ``("empty", [])`` (no table yet,
    or Loopgate's first migration never finished) or ``("foreign", table names)``.

    Loopgate's mark is its ``schema_version`` table whose version 1 is the first
    migration of :data:`~runtime.store.duckdb.migrations.MIGRATIONS`.
    """
    rows = cur.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() "
        "WHERE database_name = current_database() "
        "UNION ALL SELECT schema_name, view_name FROM duckdb_views() "
        "WHERE database_name = current_database() AND NOT internal"
    ).fetchall()
    names = sorted(name if schema == "main" else f"{schema}.{name}" for schema, name in rows)
    if not names:
        return "empty", []
    if "schema_version" in names:
        try:
            first = cur.execute("SELECT description FROM schema_version WHERE version = 1")
            row = first.fetchone()
        except duckdb.Error:
            row = ("",)  # a schema_version table of another program
        if row is not None and row[0] == MIGRATIONS[0][0]:
            return "loopgate", []
        if row is None and names == ["schema_version"]:
            return "empty", []
    return "foreign", names


def check_loopgate_file(cur: duckdb.DuckDBPyConnection, path: str, *, create: bool) -> None:
    """Refuse a DuckDB file that is not Loopgate's, before anything is written to it.

    An empty DuckDB file is initialised when ``create`` is true (a write command) and
    refused otherwise (a read command never turns a file into a Loopgate database).

    Raises:
        StoreError: another program's DuckDB database (names some of its tables), or an
            empty one where ``create`` is false.
    """
    kind, names = schema_kind(cur)
    if kind == "foreign":
        raise StoreError(
            f"{path} is a DuckDB database of another program, not Loopgate's (it holds "
            f"{_describe(names)}); pass the Loopgate database with --db, or a new file name "
            "to create one"
        )
    if kind == "empty" and not create:
        raise StoreError(
            f"{path} is an empty DuckDB file, not a Loopgate database yet; pass the Loopgate "
            "database with --db"
        )


def connect(path: str, wait: float, read_only: bool) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB file, retrying for ``wait`` seconds while another process holds it.

    Extensions are never installed or loaded automatically (:data:`DUCKDB_CONFIG`), and a
    file database is created 0600 (see :func:`keep_files_private`).

    Raises:
        DatabaseLockedError: another process holds the file (names it and its PID).
        StoreError: the file cannot be opened as a database, or is not a DuckDB database.
    """
    if path != ":memory:":
        keep_files_private()
        check_database_file(path)
        _tighten(path)
        if not read_only:
            _drop_if_empty(path)
    deadline = time.monotonic() + max(wait, 0.0)
    while True:
        try:
            return duckdb.connect(path, read_only=read_only, config=dict(DUCKDB_CONFIG))
        except duckdb.IOException as exc:
            match = _LOCK_RE.search(str(exc))
            if not match:
                if "extension" in str(exc).lower():
                    raise StoreError(
                        f"{path} is not a Loopgate database (DuckDB would need an extension "
                        "to read it, and Loopgate never loads one); pass the Loopgate "
                        "database with --db"
                    ) from None
                raise StoreError(f"cannot open {path}: {exc}") from None
            if time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            pid, exe = match.group("pid"), match.group("exe")
            hint = " (a Loopgate server?)" if "python" in exe.lower() else ""
            raise DatabaseLockedError(
                f"{path} is in use by process {pid} ({exe}){hint}; stop that process, "
                "or retry with --wait SECONDS"
            ) from None
        except duckdb.Error as exc:
            raise StoreError(f"cannot open {path}: {exc}") from None


def insert_rows(
    cur: duckdb.DuckDBPyConnection,
    table: str,
    columns: list[str],
    rows: list[Sequence[Any]],
    verb: str = "INSERT",
) -> None:
    """Insert rows with one statement: VALUES for a few, an Arrow table for more.

    Args:
        cur: the cursor of an open transaction.
        table: a table name (a constant of this package).
        columns: the column names, in the rows' order.
        rows: the values, bound as parameters or carried by Arrow.
        verb: ``INSERT`` or ``INSERT OR REPLACE``.
    """
    if not rows:
        return
    cols = ", ".join(columns)
    if len(rows) <= SMALL_BATCH:
        marks = "(" + ", ".join("?" * len(columns)) + ")"
        sql = f"{verb} INTO {table} ({cols}) VALUES " + ", ".join([marks] * len(rows))
        cur.execute(sql, [v for row in rows for v in row])
        return
    import pyarrow as pa  # late: start-up speed of commands that only read

    arrays = list(zip(*rows, strict=True))
    frame = pa.table({c: list(a) for c, a in zip(columns, arrays, strict=True)})
    cur.register("_lg_batch", frame)
    try:
        cur.execute(f"{verb} INTO {table} ({cols}) SELECT {cols} FROM _lg_batch")
    finally:
        cur.unregister("_lg_batch")


def update_by_id(
    cur: duckdb.DuckDBPyConnection, table: str, columns: list[str], rows: list[list[Any]]
) -> None:
    """Update rows by ``id`` (the first column) with one statement however many.

    One row: a plain UPDATE; a few: UPDATE ... FROM VALUES; more: UPDATE ... FROM Arrow.
    """
    if not rows:
        return
    sets = ", ".join(f"{c} = v.{c}" for c in columns[1:])
    if len(rows) == 1:
        assigns = ", ".join(f"{c} = ?" for c in columns[1:])
        cur.execute(f"UPDATE {table} SET {assigns} WHERE id = ?", [*rows[0][1:], rows[0][0]])
        return
    if len(rows) <= SMALL_BATCH:
        marks = "(" + ", ".join("?" * len(columns)) + ")"
        cur.execute(
            f"UPDATE {table} SET {sets} FROM (VALUES {', '.join([marks] * len(rows))}) "
            f"AS v({', '.join(columns)}) WHERE {table}.id = v.id",
            [x for row in rows for x in row],
        )
        return
    import pyarrow as pa  # late: start-up speed of commands that only read

    frame = pa.table({c: list(a) for c, a in zip(columns, zip(*rows, strict=True), strict=True)})
    cur.register("_lg_runs", frame)
    try:
        cur.execute(f"UPDATE {table} SET {sets} FROM _lg_runs AS v WHERE {table}.id = v.id")
    finally:
        cur.unregister("_lg_runs")


def _require_file(path: str) -> None:
    """Refuse a missing or zero-byte database file (a read must not create one).

    Raises:
        StoreError: names the absolute path looked at.
    """
    full = os.path.abspath(path)
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise StoreError(f"no database at {full}") from None
    except OSError as exc:
        raise StoreError(f"cannot read {full}: {exc.strerror}") from None
    if size == 0:
        raise StoreError(f"{full} is an empty file, not a Loopgate database")


class DuckDBConnection:
    """One DuckDB file opened by this process: the base every part of the store builds on.

    One connection; a cursor per thread for reads; writes serialised by a lock shared by
    every store on the same file, each a transaction.
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
            create: create the file (and its folder) when missing, and initialise an
                empty DuckDB file; False (read commands): refuse both.

        Raises:
            DatabaseLockedError: another process holds the file (names it and its PID).
            StoreError: there is no database at ``path`` (``create`` False), the file is
                not a Loopgate database (another program's DuckDB file, or not DuckDB at
                all) or is from a newer version.
        """
        self.path = str(path)
        if self.path != ":memory:":
            if not create:
                _require_file(self.path)
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._con = connect(self.path, wait, read_only)
        self.before_close: list[Callable[[], None]] = []
        self._local = threading.local()
        self._w = self._con.cursor()
        self._j = self._con.cursor()  # the journal's own cursor: it never waits on a batch
        self.read_only = read_only
        self._key = None if read_only or self.path == ":memory:" else os.path.realpath(self.path)
        with _OPEN_LOCK:
            fs = _OPEN.get(self._key) if self._key else None
            if fs is None:
                fs = FileState()
                self._fs = fs
                if self.path != ":memory:":
                    try:
                        check_loopgate_file(self._w, self.path, create=create and not read_only)
                    except BaseException:
                        with contextlib.suppress(Exception):
                            self._con.close()
                        raise
                if not read_only:
                    with fs.lock:
                        migrate(self._w, self.path)
                self._load_state(fs)
                if self._key:
                    _OPEN[self._key] = fs
            self._fs = fs
            fs.users += 1

    def _load_state(self, fs: FileState) -> None:
        """Read what the file's shared state starts from (parts extend this)."""

    # State shared by every store open on the same file in this process.
    _lock = property(lambda self: self._fs.lock)
    _held = property(lambda self: self._fs.held)
    _held_lock = property(lambda self: self._fs.held_lock)
    _head_seq = property(
        lambda self: self._fs.head_seq, lambda self, v: setattr(self._fs, "head_seq", v)
    )
    _head_hash = property(
        lambda self: self._fs.head_hash, lambda self, v: setattr(self._fs, "head_hash", v)
    )
    _journal_seq = property(
        lambda self: self._fs.journal_seq, lambda self, v: setattr(self._fs, "journal_seq", v)
    )

    def close(self) -> None:
        """Close the file (the write lock is released), after what must happen first (an
        engine applies the decisions it has recorded)."""
        for before in self.before_close:
            with contextlib.suppress(Exception):
                before()
        self.before_close.clear()
        with self._lock, contextlib.suppress(Exception):
            self._con.close()
        with _OPEN_LOCK:
            self._fs.users -= 1
            if self._key and self._fs.users <= 0 and _OPEN.get(self._key) is self._fs:
                del _OPEN[self._key]

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _cur(self) -> duckdb.DuckDBPyConnection:
        cur = getattr(self._local, "cur", None)
        if cur is None:
            cur = self._con.cursor()
            self._local.cur = cur
        return cur

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Run a read on this thread's cursor; rows as dicts, JSON columns parsed."""
        cur = self._cur().execute(sql, params)
        names = [d[0] for d in cur.description]
        out = []
        for row in cur.fetchall():
            rec = dict(zip(names, row, strict=True))
            for key in JSON_COLUMNS.intersection(rec):
                if isinstance(rec[key], str):
                    rec[key] = json.loads(rec[key])
            out.append(rec)
        return out

    def schema_version(self) -> int:
        """The schema version the migrations reached."""
        return self._cur().execute("SELECT max(version) FROM schema_version").fetchone()[0]

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A write transaction under the store's write lock; rolled back on any error.

        The audit chain's head is restored too, so the next append still verifies.

        Raises:
            StoreError: the store is open read-only.
        """
        if self.read_only:
            raise StoreError(f"{self.path} is open read-only")
        with self._lock:
            head = (self._head_seq, self._head_hash)
            self._w.execute("BEGIN")
            try:
                yield self._w
                self._w.execute("COMMIT")
                self._fs.data_version += 1
            except BaseException:
                with contextlib.suppress(Exception):
                    self._w.execute("ROLLBACK")
                self._head_seq, self._head_hash = head
                raise

    def data_version(self) -> int:
        """A number that changes whenever a write transaction commits on this file (in
        this process, the only one that can write it): a cache compares it to know
        whether what it read may have changed."""
        return self._fs.data_version

    def execute_readonly(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """For analytics modules in ``runtime`` only: a read query returning dicts."""
        return self._rows(sql, params)

    def file_size(self) -> int:
        """Bytes on disk: the file and its WAL (0 for ``:memory:``)."""
        if self.path == ":memory:":
            return 0
        total = 0
        for suffix in ("", ".wal"):
            with contextlib.suppress(FileNotFoundError):
                total += os.path.getsize(self.path + suffix)
        return total

    def checkpoint(self) -> None:
        """Fold the WAL into the file."""
        with self._lock:
            self._w.execute("CHECKPOINT")
