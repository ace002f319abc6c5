"""The hash-chained audit trail: chaining events, verifying the chain, searching and exporting."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from runtime.domain import Event
from runtime.errors import StoreError
from runtime.settings import audit_key_file
from runtime.store.contract import ExportFormat, ExportKind
from runtime.store.duckdb.audit_seal import (
    KEY_BYTES,
    SealState,
    cross_check,
    key_id,
    load_key,
    read_seal,
    seal_signature_problem,
    seal_vs_head,
    write_seal,
)
from runtime.store.duckdb.connection import GENESIS, DuckDBConnection, FileState
from runtime.store.duckdb.dataset import DATASET_COLUMNS, audit_clause, dataset_query
from runtime.store.duckdb.rows import dumps, utcnow, where

log = logging.getLogger(__name__)

_AUDIT_EXPORT = (
    "SELECT seq, occurred_at, kind, run_id, review_id, node_id, actor, "
    "CAST(data AS VARCHAR) AS data, hex(prev_hash) AS prev_hash, hex(hash) AS hash "
    "FROM audit_events {clause} ORDER BY seq"
)
_EXPORTS: dict[str, str] = {
    "audit": _AUDIT_EXPORT.format(clause=""),
    "decisions": "",  # the decisions dataset: see _export_query
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
        # The key and what the store found on opening, shared by the file's stores.
        fs.audit_seal = self._open_seal(fs.head_seq, fs.head_hash)  # type: ignore[attr-defined]

    @property
    def _seal_state(self) -> SealState:
        return self._fs.audit_seal  # type: ignore[attr-defined]

    def _hash_at(self, seq: int) -> bytes | None:
        row = self._w.execute("SELECT hash FROM audit_events WHERE seq = ?", [seq]).fetchone()
        return bytes(row[0]) if row else None

    def _open_seal(self, head_seq: int, head_hash: bytes) -> SealState:
        """Load (or first create) the key, check the seal against the chain's head, and
        reseal the head when writable: tampering found here goes into every later seal
        (its ``note``), so carrying on writing cannot hide it."""
        if self.path == ":memory:":  # nothing outlives the process: an ephemeral key
            state = SealState("(ephemeral: an in-memory store)", secrets.token_bytes(KEY_BYTES))
            write_seal(self._w, state, head_seq, head_hash, utcnow())
            return state
        seal = read_seal(self._w)
        path = audit_key_file(self.path)
        key, problem, created = load_key(path, create=not self.read_only and seal is None)
        state = SealState(str(path), key, problem)
        if key is None:
            if not self.read_only:  # `audit verify` says so; a copied file is no alarm
                log.info("%s: the audit trail is not sealed: %s", self.path, problem)
            return state
        if seal is not None and seal.key_id != key_id(key):
            state.key = None  # a wrong key seals nothing: the right one may come back
            state.problem = seal_signature_problem(seal, key, str(path))
            return state
        found = None
        if seal is None:
            if created:
                state.first_seq = head_seq  # rows written before sealing existed
            elif head_seq:
                found = f"the trail had {head_seq} rows but no seal (the seal was deleted)"
        elif bad := seal_signature_problem(seal, key, str(path)):
            found, state.first_seq = bad, seal.first_seq
        else:
            state.first_seq, state.note = seal.first_seq, seal.note
            at_seal = head_hash if seal.seq == head_seq else self._hash_at(seal.seq)
            found = seal_vs_head(seal, head_seq, at_seal)
        if self.read_only:  # verify finds it all again; nothing is written
            return state
        if found and not state.note:
            state.note = f"on opening the database at {utcnow():%Y-%m-%d %H:%M:%S} UTC, {found}"
            log.warning("%s: %s", self.path, state.note)
        if seal is None or found:
            self._w.execute("BEGIN")
            try:
                write_seal(self._w, state, head_seq, head_hash, utcnow())
                self._w.execute("COMMIT")
            except BaseException:
                self._w.execute("ROLLBACK")
                raise
        return state

    def _seal(self, cur: object) -> None:
        """Sign the chain's current head inside the open transaction ``cur``."""
        write_seal(cur, self._seal_state, self._head_seq, self._head_hash, utcnow())  # type: ignore[arg-type]

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
        until: datetime | None = None,
        review_id: str | None = None,
        node_id: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Audit events, newest first.

        Args:
            kind: only events of this kind.
            run_id: only this run's events.
            actor: only events by this user.
            text: only events whose data contains this text (case-insensitive, literally:
                ``%`` and ``_`` are no wildcards).
            since: only events at or after this time.
            until: only events before this time.
            review_id: only this review's events.
            node_id: only events at this node.
            limit: at most this many.
            offset: skip this many first.

        Returns:
            Rows with ``seq, occurred_at, kind, run_id, review_id, node_id, actor, data,
            hash`` (hex).
        """
        clause, params = audit_clause(
            {
                "kind": kind,
                "run_id": run_id,
                "actor": actor,
                "text": text,
                "since": since,
                "until": until,
                "review_id": review_id,
                "node_id": node_id,
            }
        )
        return self._rows(
            "SELECT seq, occurred_at, kind, run_id, review_id, node_id, actor, data, "
            f"hex(hash) AS hash FROM audit_events {clause} ORDER BY seq DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )

    def audit_event(self, seq: int) -> dict[str, Any] | None:
        """One audit row as stored (``seq, occurred_at, kind, run_id, review_id, node_id,
        actor, data, prev_hash, hash``; hashes in hex), or None."""
        rows = self._rows(
            "SELECT seq, occurred_at, kind, run_id, review_id, node_id, actor, data, "
            "hex(prev_hash) AS prev_hash, hex(hash) AS hash FROM audit_events WHERE seq = ?",
            [seq],
        )
        return rows[0] if rows else None

    def run_events(self, run_id: str) -> list[dict[str, Any]]:
        """A run's audit events in order (its steps, reviews and decisions)."""
        return self._rows(
            "SELECT seq, occurred_at, kind, review_id, node_id, actor, data FROM audit_events "
            "WHERE run_id = ? ORDER BY seq",
            [run_id],
        )

    def verify_audit_chain(self, chunk: int = 50_000) -> tuple[bool, int, str]:
        """Recompute every row's hash in order (streamed), check the seal against the key
        and the trail, and cross-check settled reviews and finished runs with their events.

        Args:
            chunk: rows fetched at a time.

        Returns:
            (ok, rows checked, the first problem and how many others; or ``audit trail
            intact: N rows, sealed at S, M reviews and K runs cross-checked``).
        """
        state = self._seal_state
        cur = self._con.cursor()
        seal = read_seal(cur) if state.key is not None else None
        forged = seal and seal_signature_problem(seal, state.key, state.key_path)  # type: ignore[arg-type]
        if forged:
            seal = None  # a seal we cannot trust says nothing
        checked, at_seal, broken = self._walk_chain(cur, chunk, seal.seq if seal else 0)
        # The first problem named is the earliest: a broken row, then the key, then the seal.
        problems = [p for p in (broken, state.problem, forged) if p]
        if broken or forged:
            pass
        elif seal is not None:
            if seal.note:
                problems.append(f"the trail was tampered with before it was resealed: {seal.note}")
            if found := seal_vs_head(seal, checked, at_seal):
                problems.append(found)
        elif state.key is not None and checked:
            problems.append(f"the trail has {checked} rows but no seal (the seal was deleted)")
        if not broken and checked != self._head_seq and not self.read_only:
            problems.append(f"the audit trail ends at row {checked}, expected {self._head_seq}")
        reviews, runs, mismatches, wrong = cross_check(cur)
        if problems or wrong:
            first = (problems + mismatches)[0]
            others = len(problems) + wrong - 1
            more = f" (and {others} more problem{'s' * (others != 1)})" if others else ""
            return False, checked, first + more
        sealed = f"sealed at {seal.seq}" if seal else "not sealed yet"
        if seal and seal.first_seq:
            sealed += f" (rows 1-{seal.first_seq} predate sealing)"
        return (
            True,
            checked,
            f"audit trail intact: {checked} rows, {sealed}, {reviews} reviews and {runs} runs "
            "cross-checked",
        )

    @staticmethod
    def _walk_chain(cur: Any, chunk: int, seal_seq: int) -> tuple[int, bytes | None, str | None]:
        """Stream the chain, recomputing each hash.

        Returns:
            (rows checked, the hash of row ``seal_seq``, the first broken link or None).
        """
        prev = GENESIS
        checked = 0
        at_seal = None
        cur.execute(
            "SELECT seq, occurred_at, kind, run_id, review_id, node_id, actor, "
            "CAST(data AS VARCHAR), prev_hash, hash FROM audit_events ORDER BY seq"
        )
        while rows := cur.fetchmany(chunk):
            for seq, at, kind, run_id, review_id, node_id, actor, data, prev_hash, digest in rows:
                if seq != checked + 1:
                    return (
                        checked,
                        at_seal,
                        f"audit row {checked + 1} is missing (next row is {seq}): "
                        "rows were deleted",
                    )
                if bytes(prev_hash) != prev:
                    return (
                        checked,
                        at_seal,
                        f"audit row {seq} ({kind}) does not link to row {seq - 1}: "
                        "a row before it was altered or removed",
                    )
                want = chain_hash(prev, seq, at, kind, run_id, review_id, node_id, actor, data)
                if bytes(digest) != want:
                    return (
                        checked,
                        at_seal,
                        f"audit row {seq} ({kind}, run {run_id or '-'}) was altered after "
                        "it was written: its hash does not match its content",
                    )
                prev = bytes(digest)
                checked += 1
                if seq == seal_seq:
                    at_seal = prev
        return checked, at_seal, None

    def export(
        self,
        kind: ExportKind,
        fmt: ExportFormat,
        out: str | Path,
        *,
        filters: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> int:
        """Write a table to CSV, Parquet or JSON Lines with DuckDB's COPY.

        Args:
            kind: ``audit``, ``decisions`` (the decisions dataset, docs/dataset.md),
                ``feedback``, ``runs`` or ``reviews``.
            fmt: ``csv``, ``parquet`` or ``jsonl``.
            out: the file to write (its folder is created).
            filters: for ``audit``, an audit search (``run_id, review_id, actor, node_id,
                kind, text, since, until``; the rows oldest first); for ``decisions``,
                ``workflow_id, since, until``; for ``feedback``, ``workflow_id``.
            limit: at most this many rows (None: all).

        Returns:
            The number of rows written.

        Raises:
            StoreError: an unknown kind, format or filter, or a negative limit.
        """
        if kind not in _EXPORTS:
            raise StoreError(f"unknown export {kind!r}; choose {', '.join(_EXPORTS)}")
        if fmt not in _FORMATS:
            raise StoreError(f"unknown format {fmt!r}; choose csv, parquet or jsonl")
        if limit is not None and limit < 0:
            raise StoreError(f"an export limit must be 0 or more, not {limit}")
        try:
            query, params = _export_query(kind, filters or {})
        except ValueError as exc:
            raise StoreError(str(exc)) from None
        if limit is not None:
            query, params = f"{query} LIMIT ?", [*params, limit]
        target = Path(out)
        target.parent.mkdir(parents=True, exist_ok=True)
        path_literal = str(target).replace("'", "''")  # COPY takes no parameter for its target
        with self._lock:
            self._w.execute(f"COPY ({query}) TO '{path_literal}' ({_FORMATS[fmt]})", params)
            return self._w.execute(f"SELECT count(*) FROM ({query})", params).fetchone()[0]


def _export_query(kind: str, filters: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """The SELECT an export copies, with its filters bound.

    Raises:
        ValueError: a filter this kind does not take.
    """
    if kind == "decisions":
        sql, params = dataset_query(filters)
        return f"SELECT {', '.join(DATASET_COLUMNS)} FROM ({sql})", params
    if kind == "audit" and filters:
        clause, params = audit_clause(filters)
        return _AUDIT_EXPORT.format(clause=clause), params
    if kind == "feedback" and filters:
        if set(filters) - {"workflow_id"}:
            raise ValueError("the feedback export has one filter: workflow_id")
        clause, params = where(workflow_id=filters.get("workflow_id"))
        return f"SELECT * FROM feedback {clause} ORDER BY created_at, id", params
    if filters:
        raise ValueError(f"the {kind} export takes no filters")
    return _EXPORTS[kind], []
