"""The DuckDB store: the one class that owns every SQL statement."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import duckdb
import pyarrow as pa

from runtime.domain import (
    Claim,
    DueReview,
    Event,
    JournalEntry,
    RunRecord,
    Settlement,
    WriteBatch,
    refusal,
)
from runtime.errors import (
    DatabaseLockedError,
    NotFoundError,
    ReviewNotPendingError,
    RunError,
    StoreError,
)
from runtime.migrations import MIGRATIONS
from runtime.nodes.base import utcnow

GENESIS = b"\x00" * 32
ExportKind = Literal["audit", "decisions", "feedback", "runs", "reviews"]
ExportFormat = Literal["csv", "parquet", "jsonl"]

RUN_COLUMNS = [
    "id",
    "workflow_id",
    "workflow_version",
    "status",
    "current_node",
    "item",
    "state",
    "step_count",
    "error",
    "result",
    "batch_id",
    "idempotency_key",
    "started_by",
    "created_at",
    "updated_at",
    "finished_at",
]
RUN_UPDATE_COLUMNS = [
    "id",
    "status",
    "current_node",
    "item",
    "state",
    "step_count",
    "error",
    "result",
    "updated_at",
    "finished_at",
]
REVIEW_COLUMNS = [
    "id",
    "run_id",
    "workflow_id",
    "workflow_version",
    "node_id",
    "kind",
    "status",
    "team",
    "assignee",
    "priority",
    "instructions",
    "note",
    "reason_codes",
    "actions",
    "form",
    "display",
    "visits",
    "deadline",
    "on_timeout",
    "escalate_to",
    "escalated_from",
    "created_at",
]
EVENT_COLUMNS = [
    "seq",
    "occurred_at",
    "kind",
    "run_id",
    "review_id",
    "node_id",
    "actor",
    "data",
    "prev_hash",
    "hash",
]
OUTBOX_COLUMNS = [
    "id",
    "run_id",
    "node_id",
    "channel",
    "recipient",
    "subject",
    "body",
    "status",
    "attempts",
    "last_error",
    "idempotency_key",
    "created_at",
    "sent_at",
]
RECORD_COLUMNS = [
    "table_name",
    "key",
    "value",
    "deleted",
    "run_id",
    "node_id",
    "idempotency_key",
    "updated_at",
]
FEEDBACK_COLUMNS = [
    "id",
    "run_id",
    "review_id",
    "workflow_id",
    "checkpoint_id",
    "node_id",
    "path",
    "input",
    "ai_output",
    "human_output",
    "reviewer",
    "action",
    "reason",
    "note",
    "rating",
    "model",
    "model_version",
    "created_at",
]
CLAIM_COLUMNS = [
    "run_id",
    "workflow_id",
    "workflow_version",
    "node_id",
    "kind",
    "team",
    "reason_codes",
    "form",
    "actions",
    "visits",
    "created_at",
    "priority",
    "deadline",
]
_JSON_COLUMNS = {
    "item",
    "state",
    "form",
    "display",
    "context",
    "data",
    "spec",
    "input",
    "ai_output",
    "human_output",
    "value",
    "decision",
}
_SMALL_BATCH = 12  # up to this many rows: one INSERT ... VALUES; above: one INSERT from Arrow


def dumps(value: Any) -> str:
    """Compact JSON for the store (dates as ISO text)."""
    return _ENCODER.encode(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


# One encoder for every call (json.dumps with options builds a new one each time).
_ENCODER = json.JSONEncoder(separators=(",", ":"), default=_json_default, ensure_ascii=False)


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def chain_hash(
    prev: bytes,
    seq: int,
    at: datetime,
    kind: str,
    run_id: str | None,
    review_id: str | None,
    node_id: str | None,
    actor: str | None,
    data: str | None,
) -> bytes:
    """The hash of one audit row: sha256 over the previous hash and the row's fields."""
    body = dumps([seq, at.isoformat(), kind, run_id, review_id, node_id, actor, data])
    return hashlib.sha256(prev + body.encode()).digest()


@dataclass
class _FileState:
    """What every Store on one file in this process shares (see ``Store._lock``)."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    # Reviews being decided (journaled, or claimed by an open batch): id -> (status, by,
    # at). Exactly one decider wins because every path that resolves a review holds it
    # here first (see :meth:`Store.hold_reviews`).
    held: dict[str, tuple[str, str, datetime]] = field(default_factory=dict)
    held_lock: threading.Lock = field(default_factory=threading.Lock)
    head_seq: int = 0
    head_hash: bytes = GENESIS
    journal_seq: int = 0
    users: int = 0


_OPEN: dict[str, _FileState] = {}
_OPEN_LOCK = threading.Lock()

_LOCK_RE = re.compile(r"Conflicting lock is held in (?P<exe>.*?) \(PID (?P<pid>\d+)\)")


class DuckDBUnitOfWork:
    """One write transaction on a DuckDB store (see ``runtime.store.contract.UnitOfWork``)."""

    def __init__(self, store: Store, cur: duckdb.DuckDBPyConnection):
        self._store = store
        self._cur = cur

    def write(self, batch: WriteBatch) -> None:
        """Write a batch (runs, reviews, feedback, records, outbox, chained events)."""
        self._store.write(self._cur, batch)

    def settle(self, settlements: Sequence[Settlement]) -> set[str]:
        """Mark pending reviews decided or expired; returns the ids that changed."""
        return self._store._settle(self._cur, settlements)

    def refusal(self, review_id: str) -> RunError:
        """Why a review cannot be decided now."""
        return self._store._refusal(self._cur, review_id)

    def cancel_reviews(self, run_id: str, by: str, at: datetime) -> list[str]:
        """Cancel a run's pending reviews; returns their ids."""
        rows = self._cur.execute(
            "UPDATE reviews SET status = 'cancelled', decided_by = ?, decided_at = ? "
            "WHERE run_id = ? AND status = 'pending' RETURNING id",
            [by, at, run_id],
        ).fetchall()
        return [r[0] for r in rows]

    def forget_journal(self, seqs: Sequence[int]) -> None:
        """Remove applied decisions from the journal."""
        if seqs:
            self._cur.execute(
                "DELETE FROM decision_journal WHERE seq IN (SELECT unnest(?))", [list(seqs)]
            )


class Store:
    """A Loopgate database: one DuckDB file, opened by one process.

    One connection; a cursor per thread for reads; writes serialised by a lock, each a
    transaction. The audit chain's head lives in memory while the file is open (this
    process holds the file's only write lock, so nobody else can append).
    """

    def __init__(self, path: str | Path, *, wait: float = 0.0, read_only: bool = False):
        """Open (and create or migrate) the database file.

        Args:
            path: the file; ``:memory:`` for a throwaway store.
            wait: seconds to keep retrying while another process holds the file.
            read_only: open without the write lock (other readers allowed, no writers).

        Raises:
            DatabaseLockedError: another process holds the file (names it and its PID).
            StoreError: the file is not a Loopgate database or is from a newer version.
        """
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._con = self._connect(wait, read_only)
        self.before_close: list[Callable[[], None]] = []
        self._local = threading.local()
        self._w = self._con.cursor()
        self._j = self._con.cursor()  # the journal's own cursor: it never waits on a batch
        self.read_only = read_only
        self._key = None if read_only or self.path == ":memory:" else os.path.realpath(self.path)
        with _OPEN_LOCK:
            fs = _OPEN.get(self._key) if self._key else None
            if fs is None:
                fs = _FileState()
                if not read_only:
                    self._fs = fs
                    self._migrate()
                    fs.journal_seq = self._load_journal_seq()
                self._fs = fs
                fs.head_seq, fs.head_hash = self._load_chain_head()
                if self._key:
                    _OPEN[self._key] = fs
            self._fs = fs
            fs.users += 1

    # State shared by every Store open on the same file in this process (DuckDB lets one
    # process open a file twice): the write lock, the audit chain's head, held reviews.
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

    # ------------------------------------------------------------ connection

    def _connect(self, wait: float, read_only: bool) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + max(wait, 0.0)
        while True:
            try:
                return duckdb.connect(self.path, read_only=read_only)
            except duckdb.IOException as exc:
                match = _LOCK_RE.search(str(exc))
                if not match:
                    raise StoreError(f"cannot open {self.path}: {exc}") from None
                if time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                pid, exe = match.group("pid"), match.group("exe")
                hint = " (a Loopgate server?)" if "python" in exe.lower() else ""
                raise DatabaseLockedError(
                    f"{self.path} is in use by process {pid} ({exe}){hint}; stop that process, "
                    "or retry with --wait SECONDS"
                ) from None
            except duckdb.Error as exc:
                raise StoreError(f"cannot open {self.path}: {exc}") from None

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

    def __enter__(self) -> Store:
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
        cur = self._cur().execute(sql, params)
        names = [d[0] for d in cur.description]
        out = []
        for row in cur.fetchall():
            rec = dict(zip(names, row, strict=True))
            for key in _JSON_COLUMNS.intersection(rec):
                if isinstance(rec[key], str):
                    rec[key] = json.loads(rec[key])
            out.append(rec)
        return out

    # ------------------------------------------------------------ migrations

    def _migrate(self) -> None:
        with self._lock:
            w = self._w
            w.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                "version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMP)"
            )
            current = w.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[
                0
            ]
            if current > len(MIGRATIONS):
                raise StoreError(
                    f"{self.path} has schema version {current}, newer than this Loopgate "
                    f"({len(MIGRATIONS)}); upgrade Loopgate"
                )
            for version, (description, sql) in enumerate(MIGRATIONS, start=1):
                if version <= current:
                    continue
                w.execute("BEGIN")
                try:
                    for statement in sql.split(";"):
                        if statement.strip():
                            w.execute(statement)
                    w.execute(
                        "INSERT INTO schema_version VALUES (?, ?, ?)",
                        [version, description, utcnow()],
                    )
                    w.execute("COMMIT")
                except Exception:
                    w.execute("ROLLBACK")
                    raise

    def schema_version(self) -> int:
        return self._cur().execute("SELECT max(version) FROM schema_version").fetchone()[0]

    # ------------------------------------------------------------ transactions

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A write transaction under the store's write lock; rolled back on any error."""
        if self.read_only:
            raise StoreError(f"{self.path} is open read-only")
        with self._lock:
            head = (self._head_seq, self._head_hash)
            self._w.execute("BEGIN")
            try:
                yield self._w
                self._w.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(Exception):
                    self._w.execute("ROLLBACK")
                self._head_seq, self._head_hash = head
                raise

    @contextlib.contextmanager
    def unit_of_work(self) -> Iterator[DuckDBUnitOfWork]:
        """A write transaction as the contract's unit of work (see :meth:`transaction`)."""
        with self.transaction() as cur:
            yield DuckDBUnitOfWork(self, cur)

    def _insert(
        self,
        cur: duckdb.DuckDBPyConnection,
        table: str,
        columns: list[str],
        rows: list[Sequence[Any]],
        verb: str = "INSERT",
    ) -> None:
        if not rows:
            return
        cols = ", ".join(columns)
        if len(rows) <= _SMALL_BATCH:
            marks = "(" + ", ".join("?" * len(columns)) + ")"
            sql = f"{verb} INTO {table} ({cols}) VALUES " + ", ".join([marks] * len(rows))
            cur.execute(sql, [v for row in rows for v in row])
            return
        arrays = list(zip(*rows, strict=True))
        frame = pa.table({c: list(a) for c, a in zip(columns, arrays, strict=True)})
        cur.register("_lg_batch", frame)
        try:
            cur.execute(f"{verb} INTO {table} ({cols}) SELECT {cols} FROM _lg_batch")
        finally:
            cur.unregister("_lg_batch")

    def _update_runs(self, cur: duckdb.DuckDBPyConnection, rows: list[list[Any]]) -> None:
        """Update existing runs by id: one statement however many (VALUES or Arrow)."""
        if not rows:
            return
        cols = RUN_UPDATE_COLUMNS
        sets = ", ".join(f"{c} = v.{c}" for c in cols[1:])
        if len(rows) == 1:
            assigns = ", ".join(f"{c} = ?" for c in cols[1:])
            cur.execute(f"UPDATE runs SET {assigns} WHERE id = ?", [*rows[0][1:], rows[0][0]])
            return
        if len(rows) <= _SMALL_BATCH:
            marks = "(" + ", ".join("?" * len(cols)) + ")"
            cur.execute(
                f"UPDATE runs SET {sets} FROM (VALUES {', '.join([marks] * len(rows))}) "
                f"AS v({', '.join(cols)}) WHERE runs.id = v.id",
                [x for row in rows for x in row],
            )
            return
        frame = pa.table({c: list(a) for c, a in zip(cols, zip(*rows, strict=True), strict=True)})
        cur.register("_lg_runs", frame)
        try:
            cur.execute(f"UPDATE runs SET {sets} FROM _lg_runs AS v WHERE runs.id = v.id")
        finally:
            cur.unregister("_lg_runs")

    def write(self, cur: duckdb.DuckDBPyConnection, batch: WriteBatch) -> None:
        """Write a batch inside an open transaction (see :meth:`transaction`)."""
        if batch.runs:
            self._insert(
                cur,
                "runs",
                RUN_COLUMNS,
                [_run_row(r, RUN_COLUMNS) for r in batch.runs.values() if r.is_new],
            )
            self._update_runs(
                cur, [_run_row(r, RUN_UPDATE_COLUMNS) for r in batch.runs.values() if not r.is_new]
            )
        if batch.reviews:
            rows = [[_cell(c, getattr(r, c)) for c in REVIEW_COLUMNS] for r in batch.reviews]
            self._insert(cur, "reviews", REVIEW_COLUMNS, rows)
        if batch.feedback:
            rows = [[_cell(c, r.get(c)) for c in FEEDBACK_COLUMNS] for r in batch.feedback]
            self._insert(cur, "feedback", FEEDBACK_COLUMNS, rows)
        if batch.records:
            latest = {(r["table_name"], r["key"]): r for r in batch.records}  # last write wins
            rows = [[_cell(c, r.get(c)) for c in RECORD_COLUMNS] for r in latest.values()]
            self._insert(cur, "records", RECORD_COLUMNS, rows)
        if batch.outbox:
            rows = [[_cell(c, r.get(c)) for c in OUTBOX_COLUMNS] for r in batch.outbox]
            self._insert(cur, "outbox", OUTBOX_COLUMNS, rows)
        if batch.events:
            self._insert(cur, "audit_events", EVENT_COLUMNS, self._chain(batch.events))

    def commit(self, batch: WriteBatch) -> None:
        """Write a batch in its own transaction."""
        if batch:
            with self.transaction() as cur:
                self.write(cur, batch)

    def _chain(self, events: list[Event]) -> list[list[Any]]:
        rows = []
        seq, prev = self._head_seq, self._head_hash
        now = utcnow()
        for ev in events:
            seq += 1
            at = ev.at or now
            data = dumps(ev.data) if ev.data else None
            digest = chain_hash(
                prev, seq, at, ev.kind, ev.run_id, ev.review_id, ev.node_id, ev.actor, data
            )
            rows.append(
                [
                    seq,
                    at,
                    ev.kind,
                    ev.run_id,
                    ev.review_id,
                    ev.node_id,
                    ev.actor,
                    data,
                    prev,
                    digest,
                ]
            )
            prev = digest
        self._head_seq, self._head_hash = seq, prev
        return rows

    def _load_chain_head(self) -> tuple[int, bytes]:
        row = (
            self._cur()
            .execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
            .fetchone()
        )
        return (row[0], bytes(row[1])) if row else (0, GENESIS)

    def append_events(self, events: list[Event]) -> None:
        """Append audit events in their own transaction."""
        self.commit(WriteBatch(events=events))

    # ------------------------------------------------------------ workflows

    def save_workflow(
        self,
        spec_dict: dict[str, Any],
        *,
        digest: str,
        name: str,
        status: str,
        by: str | None,
        message: str | None,
    ) -> tuple[int, bool]:
        """Store a workflow version unless the newest one has the same content and status.

        Returns:
            (version, created): the version number and whether a new row was written.
        """
        wid = spec_dict["id"]
        with self.transaction() as cur:
            row = cur.execute(
                "SELECT version, digest, status FROM workflows WHERE id = ? "
                "ORDER BY version DESC LIMIT 1",
                [wid],
            ).fetchone()
            if row and row[1] == digest and row[2] == status:
                return row[0], False
            version = (row[0] if row else 0) + 1
            now = utcnow()
            cur.execute(
                "INSERT INTO workflows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [wid, version, name, digest, dumps(spec_dict), status, message, by, now],
            )
            self.write(
                cur,
                WriteBatch(
                    events=[
                        Event(
                            kind="workflow.saved",
                            actor=by,
                            at=now,
                            data={
                                "workflow": wid,
                                "version": version,
                                "status": status,
                                "message": message,
                            },
                        )
                    ]
                ),
            )
        return version, True

    def get_workflow(
        self, workflow_id: str, version: int | None = None, *, published: bool = False
    ) -> dict[str, Any]:
        """A stored workflow version (the newest when version is None).

        Args:
            published: with version None, the newest published version (drafts skipped).

        Raises:
            NotFoundError: no such workflow or version.
        """
        if version is None:
            status = " AND status = 'published'" if published else ""
            rows = self._rows(
                f"SELECT * FROM workflows WHERE id = ?{status} ORDER BY version DESC LIMIT 1",
                [workflow_id],
            )
            if (
                not rows
                and published
                and self._rows("SELECT 1 FROM workflows WHERE id = ? LIMIT 1", [workflow_id])
            ):
                raise NotFoundError(
                    f"workflow {workflow_id} has no published version yet; fix its problems and "
                    "save it in the Builder, or `loopgate workflows save FILE.yaml`"
                )
        else:
            rows = self._rows(
                "SELECT * FROM workflows WHERE id = ? AND version = ?", [workflow_id, version]
            )
        if not rows:
            what = f"workflow {workflow_id}" + (f" version {version}" if version else "")
            raise NotFoundError(
                f"{what} is not in {self.path}; list them with `loopgate workflows`"
            )
        return rows[0]

    def list_workflows(self) -> list[dict[str, Any]]:
        """The newest version of every workflow, with its version count."""
        return self._rows(
            "SELECT id, name, version, status, created_at, created_by, message, versions FROM ("
            " SELECT *, count(*) OVER (PARTITION BY id) AS versions,"
            " row_number() OVER (PARTITION BY id ORDER BY version DESC) AS rn FROM workflows"
            ") WHERE rn = 1 ORDER BY id"
        )

    def list_workflow_versions(self, workflow_id: str) -> list[dict[str, Any]]:
        return self._rows(
            "SELECT id, version, name, status, message, created_by, created_at, digest "
            "FROM workflows WHERE id = ? ORDER BY version DESC",
            [workflow_id],
        )

    # ------------------------------------------------------------ runs

    def get_run(self, run_id: str) -> dict[str, Any]:
        """One run. Raises NotFoundError naming the id."""
        rows = self._rows("SELECT * FROM runs WHERE id = ?", [run_id])
        if not rows:
            raise NotFoundError(f"run {run_id} does not exist in {self.path}")
        return rows[0]

    def list_runs(
        self,
        *,
        status: str | None = None,
        workflow_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
        teams: list[str] | None = None,
        user: str | None = None,
    ) -> list[dict[str, Any]]:
        """Runs, newest first.

        Args:
            status: only runs with this status.
            workflow_id: only this workflow's runs.
            limit: the most rows to return.
            offset: rows to skip (paging).
            teams: with ``user``, the visibility rule: when either is given, only the runs
                of workflows that have a review (in any status) whose team is one of
                ``teams`` or has no team, or that is assigned to ``user``, plus the runs
                ``user`` started. Both None: every run.
            user: see ``teams``.
        """
        where, params = _where(status=status, workflow_id=workflow_id)
        if teams is not None or user is not None:
            where += (
                " AND (workflow_id IN (SELECT workflow_id FROM reviews WHERE team IS NULL"
                " OR list_contains(?, team) OR assignee = ?) OR started_by = ?)"
            )
            params += [teams or [], user, user]
        return self._rows(
            "SELECT id, workflow_id, workflow_version, status, current_node, step_count, error, "
            f"result, created_at, updated_at, finished_at FROM runs {where} "
            "ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )

    def load_run(self, run_id: str) -> RunRecord:
        """One run as the engine works on it. Raises NotFoundError naming the id."""
        return _run_record(self.get_run(run_id))

    def run_ids_by_status(self, status: str) -> list[str]:
        return [
            r[0]
            for r in self._cur()
            .execute("SELECT id FROM runs WHERE status = ? ORDER BY id", [status])
            .fetchall()
        ]

    def batch_runs(self, batch_id: str) -> dict[str, dict[str, Any]]:
        """Runs already started for a batch, by idempotency key."""
        rows = self._rows(
            "SELECT idempotency_key, id, status, current_node FROM runs WHERE batch_id = ?",
            [batch_id],
        )
        return {r["idempotency_key"]: r for r in rows}

    def run_events(self, run_id: str) -> list[dict[str, Any]]:
        """A run's audit events in order (its steps, reviews and decisions)."""
        return self._rows(
            "SELECT seq, occurred_at, kind, review_id, node_id, actor, data FROM audit_events "
            "WHERE run_id = ? ORDER BY seq",
            [run_id],
        )

    def run_outputs(self, run_id: str) -> dict[str, Any]:
        """Each node's latest output in a run, from the audit trail."""
        rows = self._rows(
            "SELECT node_id, output FROM steps WHERE run_id = ? ORDER BY seq", [run_id]
        )
        return {
            r["node_id"]: json.loads(r["output"]) if isinstance(r["output"], str) else r["output"]
            for r in rows
        }

    def count_runs(self) -> dict[str, int]:
        return dict(
            self._cur().execute("SELECT status, count(*) FROM runs GROUP BY status").fetchall()
        )

    # ------------------------------------------------------------ reviews

    def _run_contexts(
        self, cur: duckdb.DuckDBPyConnection, run_ids: list[str]
    ) -> dict[str, dict[str, Any]]:
        """What resuming a waiting run needs, read from the runs (one statement)."""
        rows = cur.execute(
            "SELECT id, item, state FROM runs WHERE id IN (SELECT unnest(?))", [run_ids]
        ).fetchall()
        out = {}
        for run_id, item, state in rows:
            st = (loads(state) if isinstance(state, str) else state) or {}
            out[run_id] = {
                "item": loads(item) if isinstance(item, str) else item,
                "steps": st.get("steps", {}),
            }
        return out

    def _refusal(self, cur: duckdb.DuckDBPyConnection, review_id: str) -> RunError:
        """Why a review cannot be decided now, read through ``cur`` (see :func:`refusal`)."""
        row = cur.execute(
            "SELECT status, decided_by, decided_at FROM reviews WHERE id = ?", [review_id]
        ).fetchone()
        if row is None:
            return refusal(review_id, None)
        status, by, at = row
        return ReviewNotPendingError(
            review_id, status, by, at.isoformat(timespec="seconds") + "Z" if at else None
        )

    # ------------------------------------------------------------ decision journal

    def hold_reviews(
        self, review_ids: Sequence[str], *, status: str, by: str, at: datetime
    ) -> tuple[list[str], dict[str, ReviewNotPendingError]]:
        """Hold reviews for a decision path before it claims them in a transaction.

        Returns the ids now held by the caller and, for the others, why not (another
        decision holds them). Release with :meth:`release_reviews` after the commit.
        """
        held, busy = [], {}
        with self._held_lock:
            for rid in dict.fromkeys(review_ids):
                other = self._held.get(rid)
                if other is not None:
                    busy[rid] = _not_pending(rid, other)
                    continue
                self._held[rid] = (status, by, at)
                held.append(rid)
        return held, busy

    def release_reviews(self, review_ids: Iterable[str]) -> None:
        with self._held_lock:
            for rid in review_ids:
                self._held.pop(rid, None)

    def check_not_held(self, review_id: str) -> None:
        """Raise ReviewNotPendingError when another decision holds this review."""
        other = self._held.get(review_id)
        if other is not None:
            raise _not_pending(review_id, other)

    def held_review_ids(self) -> list[str]:
        with self._held_lock:
            return list(self._held)

    def journal_decision(
        self, review_id: str, *, by: str, at: datetime, decision: dict[str, Any]
    ) -> int:
        """Make a decision durable with one statement: a journal row, written only if the
        review is pending and no other decision holds it. The review stays held until the
        engine has applied the decision (:meth:`apply_decisions`).

        Raises:
            ReviewNotPendingError: decided or held by someone else (names who and when).
            NotFoundError: there is no such review.
        """
        with self._held_lock:
            other = self._held.get(review_id)
            if other is not None:
                raise _not_pending(review_id, other)
            seq = self._journal_seq + 1
            try:
                written = self._j.execute(
                    "INSERT INTO decision_journal SELECT ?, ?, ?, ?, ? FROM reviews "
                    "WHERE id = ? AND status = 'pending'",
                    [seq, review_id, by, at, dumps(decision), review_id],
                ).fetchone()[0]
            except duckdb.Error as exc:
                raise StoreError(
                    f"could not record the decision on {review_id} in {self.path}: {exc}"
                ) from None
            if not written:
                raise self._refusal(self._j, review_id)
            self._journal_seq = seq
            self._held[review_id] = ("decided", by, at)
        return seq

    def journal_entries(self) -> list[JournalEntry]:
        """The journal, oldest first, each row with its review's status now: a row whose
        review is still pending was not applied (its process stopped first)."""
        rows = self._rows(
            "SELECT j.seq, j.review_id, j.decided_by, j.decided_at, j.decision, "
            "coalesce(r.status, 'missing') AS review_status "
            "FROM decision_journal j LEFT JOIN reviews r ON r.id = j.review_id ORDER BY j.seq"
        )
        return [JournalEntry(**r) for r in rows]

    def forget_journal(self, seqs: Sequence[int]) -> None:
        """Remove applied rows from the journal in a transaction of their own."""
        if seqs:
            with self.unit_of_work() as uow:
                uow.forget_journal(seqs)

    def _load_journal_seq(self) -> int:
        row = self._cur().execute("SELECT max(seq) FROM decision_journal").fetchone()
        return row[0] or 0

    def _settle(self, cur: duckdb.DuckDBPyConnection, decisions: Sequence[Settlement]) -> set[str]:
        """Mark pending reviews decided (or expired) in an open transaction, one statement
        for all; returns the ids that were still pending (only those changed)."""
        if not decisions:
            return set()
        cols = ["id", "status", "decided_by", "decided_at", "action", "data"]
        cols += ["reason", "note", "rating"]
        rows = [
            [
                d.id,
                d.status,
                d.decided_by,
                d.decided_at,
                d.action,
                dumps(d.data) if d.data else None,
                d.reason,
                d.note,
                d.rating,
            ]
            for d in decisions
        ]
        update = (
            "UPDATE reviews SET status = v.status, decided_by = v.decided_by, "
            "decided_at = v.decided_at, action = v.action, data = v.data, "
            "reason = v.reason, decision_note = v.note, rating = v.rating "
            "FROM {source} WHERE reviews.id = v.id AND reviews.status = 'pending' "
            "RETURNING reviews.id"
        )
        if len(rows) <= _SMALL_BATCH:
            marks = "(?, ?, ?, CAST(? AS TIMESTAMP), ?, ?, ?, ?, CAST(? AS INTEGER))"
            source = f"(VALUES {', '.join([marks] * len(rows))}) AS v({', '.join(cols)})"
            done = cur.execute(update.format(source=source), [x for r in rows for x in r])
            return {r[0] for r in done.fetchall()}
        types = [pa.string()] * 3 + [pa.timestamp("us")] + [pa.string()] * 4 + [pa.int32()]
        frame = pa.table(
            {
                c: pa.array([r[i] for r in rows], t)
                for i, (c, t) in enumerate(zip(cols, types, strict=True))
            }
        )
        cur.register("_lg_decisions", frame)
        try:
            done = cur.execute(update.format(source="_lg_decisions AS v"))
            return {r[0] for r in done.fetchall()}
        finally:
            cur.unregister("_lg_decisions")

    def review_claims(self, review_ids: Sequence[str]) -> dict[str, Claim]:
        """Reviews with their waiting runs, as deciding them needs (one read for all).

        Each has its ``status`` now, plus ``decided_by`` and ``decided_at``; an id that
        does not exist is left out.
        """
        if not review_ids:
            return {}
        n = len(CLAIM_COLUMNS)
        rows = (
            self._cur()
            .execute(
                f"SELECT r.id, {', '.join('r.' + c for c in CLAIM_COLUMNS)}, r.status, "
                f"r.decided_by, r.decided_at, {', '.join('u.' + c for c in RUN_COLUMNS)} "
                "FROM reviews r JOIN runs u ON u.id = r.run_id WHERE r.id IN (SELECT unnest(?))",
                [list(review_ids)],
            )
            .fetchall()
        )
        out = {}
        for row in rows:
            rec = dict(zip(CLAIM_COLUMNS, row[1 : n + 1], strict=True))
            rec["form"] = loads(rec["form"]) or []
            rec["reason_codes"] = list(rec["reason_codes"] or [])
            rec["status"], rec["decided_by"], rec["decided_at"] = row[n + 1 : n + 4]
            run = _run_record(dict(zip(RUN_COLUMNS, row[n + 4 :], strict=True)))
            out[row[0]] = Claim(id=row[0], run=run, **rec)
        return out

    def review_claim(self, review_id: str) -> Claim:
        """A pending review with its run's context, as a decision needs it.

        Raises:
            ReviewNotPendingError: decided, expired or cancelled (says by whom and when).
            NotFoundError: there is no such review.
        """
        claim = self.review_claims([review_id]).get(review_id)
        if claim is None or claim.status != "pending":
            raise refusal(review_id, claim)
        return claim

    def get_review(self, review_id: str) -> dict[str, Any]:
        rows = self._with_context(self._rows("SELECT * FROM reviews WHERE id = ?", [review_id]))
        if not rows:
            raise NotFoundError(
                f"review {review_id} does not exist; list pending ones with `loopgate reviews`"
            )
        return rows[0]

    def list_pending_reviews(
        self,
        *,
        team: str | None = None,
        teams: list[str] | None = None,
        workflow_id: str | None = None,
        assignee: str | None = None,
        priority: str | None = None,
        limit: int = 100,
        offset: int = 0,
        node_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Pending reviews, most urgent and oldest first."""
        where, params = _where(
            status="pending",
            team=team,
            workflow_id=workflow_id,
            node_id=node_id,
            assignee=assignee,
            priority=priority,
        )
        if teams is not None:
            where += " AND (team IS NULL OR list_contains(?, team))"
            params.append(teams)
        held = self.held_review_ids()
        if held:  # being decided right now: no longer on anyone's queue
            where += " AND id NOT IN (SELECT unnest(?))"
            params.append(held)
        rows = self._rows(
            "SELECT id, run_id, workflow_id, workflow_version, node_id, kind, team, assignee, "
            "priority, instructions, note, reason_codes, actions, form, display, visits, "
            f"deadline, on_timeout, created_at, escalated_from FROM reviews {where} "
            "ORDER BY CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 "
            "ELSE 3 END, created_at, id LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return self._with_context(rows)

    def _with_context(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Add each review's context (the run's item and step outputs) for the reviewer."""
        if rows:
            contexts = self._run_contexts(self._cur(), list({r["run_id"] for r in rows}))
            for r in rows:
                ctx = contexts.get(r["run_id"]) or {}
                r["context"] = {"item": ctx.get("item"), "steps": ctx.get("steps", {})}
        return rows

    def count_pending_reviews(self) -> int:
        held = self.held_review_ids()
        return (
            self._cur()
            .execute(
                "SELECT count(*) FROM reviews WHERE status = 'pending' "
                "AND NOT list_contains(?, id)",
                [held],
            )
            .fetchone()[0]
        )

    def due_reviews(self, now: datetime) -> list[DueReview]:
        """Pending reviews whose deadline has passed."""
        rows = self._rows(
            "SELECT id, run_id, node_id, kind, team, on_timeout, escalate_to, deadline "
            "FROM reviews WHERE status = 'pending' AND deadline IS NOT NULL AND deadline <= ? "
            "ORDER BY deadline, id",
            [now],
        )
        return [DueReview(**r) for r in rows]

    def pending_review_for_run(self, run_id: str) -> dict[str, Any] | None:
        rows = self._rows(
            "SELECT id, node_id, team FROM reviews WHERE run_id = ? AND status = 'pending'",
            [run_id],
        )
        return rows[0] if rows else None

    # ------------------------------------------------------------ feedback

    def list_feedback(
        self, *, workflow_id: str | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        where, params = _where(workflow_id=workflow_id)
        return self._rows(
            f"SELECT * FROM feedback {where} ORDER BY created_at, id LIMIT ?", [*params, limit]
        )

    # ------------------------------------------------------------ records

    def get_record(self, table: str, key: str) -> dict[str, Any] | None:
        """A live record of the built-in record store, or None."""
        rows = self._rows(
            "SELECT * FROM records WHERE table_name = ? AND key = ? "
            "ORDER BY updated_at DESC LIMIT 1",
            [table, key],
        )
        return rows[0] if rows and not rows[0]["deleted"] else None

    # ------------------------------------------------------------ users

    def create_user(
        self,
        name: str,
        *,
        password_hash: str | None,
        roles: list[str],
        teams: list[str],
        display_name: str | None = None,
        by: str | None = None,
    ) -> None:
        with self.transaction() as cur:
            exists = cur.execute("SELECT 1 FROM users WHERE name = ?", [name]).fetchone()
            if exists:
                raise StoreError(f"user {name} already exists")
            now = utcnow()
            cur.execute(
                "INSERT INTO users (name, display_name, password_hash, roles, teams, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [name, display_name, password_hash, roles, teams, now],
            )
            self.write(
                cur,
                WriteBatch(
                    events=[
                        Event(
                            kind="user.created",
                            actor=by,
                            at=now,
                            data={"user": name, "roles": roles, "teams": teams},
                        )
                    ]
                ),
            )

    def update_user(self, name: str, **fields: Any) -> None:
        allowed = {"display_name", "password_hash", "roles", "teams", "token_hash", "disabled"}
        bad = set(fields) - allowed
        if bad:
            raise ValueError(f"cannot update {bad}")
        if not fields:
            return
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self.transaction() as cur:
            row = cur.execute(
                f"UPDATE users SET {sets} WHERE name = ? RETURNING name", [*fields.values(), name]
            ).fetchone()
            if row is None:
                raise NotFoundError(f"user {name} does not exist")
            safe = {k: v for k, v in fields.items() if k not in ("password_hash", "token_hash")}
            changed = sorted(fields)
            self.write(
                cur,
                WriteBatch(
                    events=[
                        Event(
                            kind="user.updated",
                            at=utcnow(),
                            data={"user": name, "changed": changed, **safe},
                        )
                    ]
                ),
            )

    def get_user(self, name: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM users WHERE name = ?", [name])
        return rows[0] if rows else None

    def user_by_token_hash(self, token_hash: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM users WHERE token_hash = ? AND NOT disabled", [token_hash])
        return rows[0] if rows else None

    def list_users(self) -> list[dict[str, Any]]:
        return self._rows(
            "SELECT name, display_name, roles, teams, disabled, created_at FROM users ORDER BY name"
        )

    # ------------------------------------------------------------ audit

    def audit_events(
        self,
        *,
        kind: str | None = None,
        run_id: str | None = None,
        actor: str | None = None,
        text: str | None = None,
        since: datetime | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        where, params = _where(kind=kind, run_id=run_id, actor=actor)
        if since is not None:
            where += " AND occurred_at >= ?"
            params.append(since)
        if text:
            where += " AND CAST(data AS VARCHAR) ILIKE ?"
            params.append(f"%{text}%")
        return self._rows(
            "SELECT seq, occurred_at, kind, run_id, review_id, node_id, actor, data, "
            f"hex(hash) AS hash FROM audit_events {where} ORDER BY seq DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )

    def verify_audit_chain(self, chunk: int = 50_000) -> tuple[bool, int, str]:
        """Recompute every row's hash in order.

        Returns:
            (ok, rows checked, message naming the first bad row when not ok).
        """
        prev = GENESIS
        expected_seq = 0
        checked = 0
        cur = self._con.cursor()
        cur.execute(
            "SELECT seq, occurred_at, kind, run_id, review_id, node_id, actor, "
            "CAST(data AS VARCHAR), prev_hash, hash FROM audit_events ORDER BY seq"
        )
        while True:
            rows = cur.fetchmany(chunk)
            if not rows:
                break
            for seq, at, kind, run_id, review_id, node_id, actor, data, prev_hash, digest in rows:
                expected_seq += 1
                if seq != expected_seq:
                    return (
                        False,
                        checked,
                        (
                            f"audit row {expected_seq} is missing (next row is {seq}): "
                            "rows were deleted"
                        ),
                    )
                if bytes(prev_hash) != prev:
                    return (
                        False,
                        checked,
                        (
                            f"audit row {seq} ({kind}) does not link to row {seq - 1}: "
                            "a row before it was altered or removed"
                        ),
                    )
                want = chain_hash(prev, seq, at, kind, run_id, review_id, node_id, actor, data)
                if bytes(digest) != want:
                    return (
                        False,
                        checked,
                        (
                            f"audit row {seq} ({kind}, run {run_id or '-'}) was altered after "
                            "it was written: its hash does not match its content"
                        ),
                    )
                prev = bytes(digest)
                checked += 1
        if checked != self._head_seq and not self.read_only:
            return (
                False,
                checked,
                f"the audit trail ends at row {checked}, expected {self._head_seq}",
            )
        return True, checked, f"audit trail intact: {checked} rows"

    # ------------------------------------------------------------ export

    _EXPORTS: dict[str, str] = {
        "audit": "SELECT seq, occurred_at, kind, run_id, review_id, node_id, actor, "
        "CAST(data AS VARCHAR) AS data, hex(prev_hash) AS prev_hash, hex(hash) AS hash "
        "FROM audit_events ORDER BY seq",
        "decisions": "SELECT * FROM decisions ORDER BY decided_at, review_id",
        "feedback": "SELECT * FROM feedback ORDER BY created_at, id",
        "runs": "SELECT * FROM runs ORDER BY created_at, id",
        "reviews": "SELECT * FROM reviews ORDER BY created_at, id",
    }

    def export(self, kind: ExportKind, fmt: ExportFormat, out: str | Path) -> int:
        """Write a table to CSV, Parquet or JSON Lines with DuckDB's COPY.

        Returns:
            The number of rows written.
        """
        if kind not in self._EXPORTS:
            raise StoreError(f"unknown export {kind!r}; choose {', '.join(self._EXPORTS)}")
        options = {
            "csv": "FORMAT csv, HEADER true",
            "parquet": "FORMAT parquet",
            "jsonl": "FORMAT json",
        }
        if fmt not in options:
            raise StoreError(f"unknown format {fmt!r}; choose csv, parquet or jsonl")
        target = Path(out)
        target.parent.mkdir(parents=True, exist_ok=True)
        query = self._EXPORTS[kind]
        path_literal = str(target).replace("'", "''")  # COPY takes no parameter for its target
        with self._lock:
            self._w.execute(f"COPY ({query}) TO '{path_literal}' ({options[fmt]})")
            return self._w.execute(f"SELECT count(*) FROM ({query})").fetchone()[0]

    # ------------------------------------------------------------ misc

    def execute_readonly(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """For analytics modules in ``runtime`` only: a read query returning dicts."""
        return self._rows(sql, params)

    def file_size(self) -> int:
        if self.path == ":memory:":
            return 0
        total = 0
        for suffix in ("", ".wal"):
            with contextlib.suppress(FileNotFoundError):
                total += os.path.getsize(self.path + suffix)
        return total

    def checkpoint(self) -> None:
        with self._lock:
            self._w.execute("CHECKPOINT")

    # ------------------------------------------------------------ outbox

    def list_outbox(
        self, status: str | None = None, *, run_id: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Outbox messages, newest first, optionally of one status or run."""
        where, params = _where(status=status, run_id=run_id)
        sql = f"SELECT * FROM outbox {where} ORDER BY created_at DESC, id DESC LIMIT ?"
        return self._rows(sql, [*params, limit])

    def pending_outbox(
        self, now: datetime, limit: int = 100, *, max_attempts: int = 5, force: bool = False
    ) -> list[dict[str, Any]]:
        """Messages due for sending, oldest first: every pending one, and failed ones with
        tries left whose next attempt time has come (a failed row without a next attempt
        time was given up). ``force``: every failed one too."""
        if force:
            return self._rows(
                "SELECT * FROM outbox WHERE status IN ('pending', 'failed') "
                "ORDER BY created_at, id LIMIT ?",
                [limit],
            )
        return self._rows(
            "SELECT * FROM outbox WHERE status = 'pending' OR (status = 'failed' "
            "AND attempts < ? AND next_attempt_at <= ?) "
            "ORDER BY created_at, id LIMIT ?",
            [max_attempts, now, limit],
        )

    def mark_outbox(
        self,
        outbox_id: str,
        *,
        status: str,
        attempts: int,
        last_error: str | None,
        sent_at: datetime | None,
        next_attempt_at: datetime | None,
        event: Event,
    ) -> None:
        """Record one delivery attempt and its audit event in one transaction."""
        with self.transaction() as cur:
            cur.execute(
                "UPDATE outbox SET status = ?, attempts = ?, last_error = ?, sent_at = ?, "
                "next_attempt_at = ? WHERE id = ?",
                [status, attempts, last_error, sent_at, next_attempt_at, outbox_id],
            )
            self.write(cur, WriteBatch(events=[event]))

    # ------------------------------------------------------------ models

    def save_model(
        self,
        name: str,
        *,
        provider: str,
        labels: list[str],
        metrics: dict[str, Any],
        blob: bytes,
        source: str,
        created_by: str | None = None,
        training: dict[str, Any] | None = None,
    ) -> int:
        """Store a new version of a model: one more than its newest (1 for a new name).

        Written in a transaction of its own on a cursor of its own, so a node may call it
        while a run's transaction is open (the shipped model is trained on first use).

        Args:
            name: the model's name, e.g. ``support-intents``.
            provider: ``builtin`` for the classifiers Loopgate trains.
            labels: every label the model can produce.
            metrics: held-out figures and counts (see docs/models.md).
            blob: the serialised model (``TextClassifier.to_bytes()``).
            source: where the training data came from: ``shipped``, ``file:PATH`` or
                ``feedback``.
            created_by: the user who trained it, if known.
            training: the file rows it was trained on and the feedback ids it used.

        Returns:
            The new version number.
        """
        if self.read_only:
            raise StoreError(f"{self.path} is open read-only")
        with self._lock:
            cur = self._con.cursor()
            try:
                cur.execute("BEGIN")
                try:
                    version = cur.execute(
                        "SELECT coalesce(max(version), 0) + 1 FROM models WHERE name = ?", [name]
                    ).fetchone()[0]
                    cur.execute(
                        "INSERT INTO models (name, version, provider, labels, metrics, "
                        "created_at, created_by, source, blob, training) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [
                            name,
                            version,
                            provider,
                            list(labels),
                            dumps(metrics),
                            utcnow(),
                            created_by,
                            source,
                            bytes(blob),
                            None if training is None else dumps(training),
                        ],
                    )
                    cur.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(Exception):
                        cur.execute("ROLLBACK")
                    raise
            except duckdb.Error as exc:
                raise StoreError(f"cannot save model {name}: {exc}") from None
            finally:
                cur.close()
        return int(version)

    def get_model(self, name: str, version: int | None = None) -> dict[str, Any] | None:
        """One version of a model with its blob (the newest when ``version`` is None), or
        None when there is no such model or version."""
        if version is None:
            rows = self._rows(
                "SELECT * FROM models WHERE name = ? ORDER BY version DESC LIMIT 1", [name]
            )
        else:
            rows = self._rows(
                "SELECT * FROM models WHERE name = ? AND version = ?", [name, version]
            )
        if not rows:
            return None
        row = rows[0]
        for key in ("metrics", "training"):
            if isinstance(row[key], str):
                row[key] = json.loads(row[key])
        row["blob"] = bytes(row["blob"])
        return row

    def latest_model_version(self, name: str) -> int | None:
        """The newest version of a model, or None when the store has none."""
        row = (
            self._cur().execute("SELECT max(version) FROM models WHERE name = ?", [name]).fetchone()
        )
        return None if row is None or row[0] is None else int(row[0])

    def list_models(self, name: str | None = None) -> list[dict[str, Any]]:
        """Every stored model version without its blob (``size`` is the blob's bytes),
        by name, newest version first."""
        rows = self._rows(
            "SELECT name, version, provider, labels, metrics, created_at, created_by, source, "
            "octet_length(blob) AS size FROM models WHERE ? IS NULL OR name = ? "
            "ORDER BY name, version DESC",
            [name, name],
        )
        for row in rows:
            if isinstance(row["metrics"], str):
                row["metrics"] = json.loads(row["metrics"])
        return rows

    def feedback_for_model(self, name: str) -> list[dict[str, Any]]:
        """Feedback rows on outputs of the model ``name``, oldest first.

        Each row also carries ``step_output``: what the AI node recorded in that run (its
        latest visit), which holds the text the model saw when a correction row only
        holds the corrected value.
        """
        rows = self._rows(
            "WITH fb AS (SELECT * FROM feedback WHERE model = ?), "
            "out AS (SELECT run_id, node_id, output, row_number() OVER ("
            "    PARTITION BY run_id, node_id ORDER BY seq DESC) AS rn "
            "  FROM steps WHERE run_id IN (SELECT run_id FROM fb)) "
            "SELECT fb.*, out.output AS step_output FROM fb "
            "LEFT JOIN out ON out.run_id = fb.run_id AND out.node_id = fb.node_id AND out.rn = 1 "
            "ORDER BY fb.created_at, fb.id",
            [name],
        )
        for row in rows:
            if isinstance(row["step_output"], str):
                row["step_output"] = json.loads(row["step_output"])
        return rows


def _run_record(row: dict[str, Any]) -> RunRecord:
    """A run row (all of RUN_COLUMNS) as the engine works on it."""
    state = loads(row["state"]) if isinstance(row["state"], str) else row["state"]
    state = state or {}
    item = row["item"]
    return RunRecord(
        id=row["id"],
        workflow_id=row["workflow_id"],
        workflow_version=row["workflow_version"],
        status=row["status"],
        current_node=row["current_node"],
        item=loads(item) if isinstance(item, str) else item,
        steps=state.get("steps", {}),
        review=state.get("review"),
        visits=state.get("visits", {}),
        step_count=row["step_count"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        error=row["error"],
        result=row["result"],
        batch_id=row["batch_id"],
        idempotency_key=row["idempotency_key"],
        started_by=row["started_by"],
        finished_at=row["finished_at"],
    )


def _not_pending(review_id: str, held: tuple[str, str, datetime]) -> ReviewNotPendingError:
    status, by, at = held
    return ReviewNotPendingError(review_id, status, by, at.isoformat(timespec="seconds") + "Z")


def _run_row(run: RunRecord, columns: list[str]) -> list[Any]:
    """A run's cells in ``columns`` order (``state`` is what resuming it needs)."""
    return [_cell(c, run.resume_state() if c == "state" else getattr(run, c)) for c in columns]


def _cell(column: str, value: Any) -> Any:
    if column == "model_version" and value is not None:
        return str(value)
    if column in _JSON_COLUMNS and value is not None:
        return dumps(value)
    return value


def _where(**filters: Any) -> tuple[str, list[Any]]:
    clauses, params = [], []
    for column, value in filters.items():
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "WHERE true", params
