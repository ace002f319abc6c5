"""The hash-chained audit trail: chaining events, verifying the chain, searching and exporting."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

from runtime.domain import Event
from runtime.errors import StoreError
from runtime.store.contract import ExportFormat, ExportKind
from runtime.store.duckdb.connection import GENESIS, DuckDBConnection, FileState
from runtime.store.duckdb.rows import dumps, utcnow, where

_EXPORTS: dict[str, str] = {
    "audit": "SELECT seq, occurred_at, kind, run_id, review_id, node_id, actor, "
    "CAST(data AS VARCHAR) AS data, hex(prev_hash) AS prev_hash, hex(hash) AS hash "
    "FROM audit_events ORDER BY seq",
    "decisions": "SELECT * FROM decisions ORDER BY decided_at, review_id",
    "feedback": "SELECT * FROM feedback ORDER BY created_at, id",
    "runs": "SELECT * FROM runs ORDER BY created_at, id",
    "reviews": "SELECT * FROM reviews ORDER BY created_at, id",
}
_FORMATS = {
    "csv": "FORMAT csv, HEADER true",
    "parquet": "FORMAT parquet",
    "jsonl": "FORMAT json",
}


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
    """The hash of one audit row: sha256 over the previous hash and the row's fields.

    Returns:
        32 bytes.
    """
    body = dumps([seq, at.isoformat(), kind, run_id, review_id, node_id, actor, data])
    return hashlib.sha256(prev + body.encode()).digest()


class DuckDBAuditLog(DuckDBConnection):
    """The audit trail of a DuckDB store (``runtime.store.contract.AuditLog``).

    The chain's head lives in the file's shared state while the file is open: this process
    holds the file's only write lock, so nobody else can append.
    """

    _EXPORTS = _EXPORTS

    def _load_state(self, fs: FileState) -> None:
        super()._load_state(fs)
        fs.head_seq, fs.head_hash = self._load_chain_head()

    def _load_chain_head(self) -> tuple[int, bytes]:
        row = (
            self._cur()
            .execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
            .fetchone()
        )
        return (row[0], bytes(row[1])) if row else (0, GENESIS)

    def _chain(self, events: list[Event]) -> list[list[Any]]:
        """The audit rows of ``events``, chained on the head (which moves to their end)."""
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
        """Audit events, newest first.

        Args:
            kind: only events of this kind.
            run_id: only this run's events.
            actor: only events by this user.
            text: only events whose data contains this text (case-insensitive).
            since: only events at or after this time.
            limit: at most this many.
            offset: skip this many first.

        Returns:
            Rows with ``seq, occurred_at, kind, run_id, review_id, node_id, actor, data,
            hash`` (hex).
        """
        clause, params = where(kind=kind, run_id=run_id, actor=actor)
        if since is not None:
            clause += " AND occurred_at >= ?"
            params.append(since)
        if text:
            clause += " AND CAST(data AS VARCHAR) ILIKE ?"
            params.append(f"%{text}%")
        return self._rows(
            "SELECT seq, occurred_at, kind, run_id, review_id, node_id, actor, data, "
            f"hex(hash) AS hash FROM audit_events {clause} ORDER BY seq DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )

    def run_events(self, run_id: str) -> list[dict[str, Any]]:
        """A run's audit events in order (its steps, reviews and decisions)."""
        return self._rows(
            "SELECT seq, occurred_at, kind, review_id, node_id, actor, data FROM audit_events "
            "WHERE run_id = ? ORDER BY seq",
            [run_id],
        )

    def verify_audit_chain(self, chunk: int = 50_000) -> tuple[bool, int, str]:
        """Recompute every row's hash in order.

        Args:
            chunk: rows fetched at a time.

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
        while rows := cur.fetchmany(chunk):
            for seq, at, kind, run_id, review_id, node_id, actor, data, prev_hash, digest in rows:
                expected_seq += 1
                if seq != expected_seq:
                    return (
                        False,
                        checked,
                        f"audit row {expected_seq} is missing (next row is {seq}): "
                        "rows were deleted",
                    )
                if bytes(prev_hash) != prev:
                    return (
                        False,
                        checked,
                        f"audit row {seq} ({kind}) does not link to row {seq - 1}: "
                        "a row before it was altered or removed",
                    )
                want = chain_hash(prev, seq, at, kind, run_id, review_id, node_id, actor, data)
                if bytes(digest) != want:
                    return (
                        False,
                        checked,
                        f"audit row {seq} ({kind}, run {run_id or '-'}) was altered after "
                        "it was written: its hash does not match its content",
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

    def export(self, kind: ExportKind, fmt: ExportFormat, out: str | Path) -> int:
        """Write a table to CSV, Parquet or JSON Lines with DuckDB's COPY.

        Args:
            kind: ``audit``, ``decisions``, ``feedback``, ``runs`` or ``reviews``.
            fmt: ``csv``, ``parquet`` or ``jsonl``.
            out: the file to write (its folder is created).

        Returns:
            The number of rows written.

        Raises:
            StoreError: an unknown kind or format.
        """
        if kind not in _EXPORTS:
            raise StoreError(f"unknown export {kind!r}; choose {', '.join(_EXPORTS)}")
        if fmt not in _FORMATS:
            raise StoreError(f"unknown format {fmt!r}; choose csv, parquet or jsonl")
        target = Path(out)
        target.parent.mkdir(parents=True, exist_ok=True)
        query = _EXPORTS[kind]
        path_literal = str(target).replace("'", "''")  # COPY takes no parameter for its target
        with self._lock:
            self._w.execute(f"COPY ({query}) TO '{path_literal}' ({_FORMATS[fmt]})")
            return self._w.execute(f"SELECT count(*) FROM ({query})").fetchone()[0]
