"""The audit chain's anchor: its head signed (HMAC) with a key kept outside the database,
and the cross-checks of the authoritative tables against the chain (see docs/audit.md)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from runtime.store.duckdb.rows import dumps

KEY_BYTES = 32
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


@dataclass(slots=True)
class Seal:
    """The row of ``audit_seal``: the chain's head as the last unit of work signed it."""

    seq: int
    hash: bytes
    row_count: int
    first_seq: int  # rows up to this one were written before the trail was first sealed
    note: str | None  # tampering found when the store opened (kept in every later seal)
    key_id: str
    sealed_at: datetime
    mac: bytes

    def expected_mac(self, key: bytes) -> bytes:
        """The signature this seal must carry under ``key``."""
        return seal_mac(
            key, self.seq, self.hash, self.row_count, self.first_seq, self.note, self.sealed_at
        )


@dataclass(slots=True)
class SealState:
    """What the store knows about its key, shared by every store open on the file.

    Attributes:
        key_path: where the key is, or was looked for.
        key: the key; None when it cannot be used (``problem`` says why).
        problem: why there is no usable key, and what to do.
        first_seq: see :class:`Seal`.
        note: tampering found when the store opened, carried into every later seal.
    """

    key_path: str
    key: bytes | None
    problem: str | None = None
    first_seq: int = 0
    note: str | None = None


def key_id(key: bytes) -> str:
    """A public fingerprint of a key (which key sealed a trail), 16 hex digits."""
    return hashlib.sha256(b"loopgate audit key id\0" + key).hexdigest()[:16]


def seal_mac(
    key: bytes,
    seq: int,
    digest: bytes,
    row_count: int,
    first_seq: int,
    note: str | None,
    sealed_at: datetime,
) -> bytes:
    """HMAC-SHA256 over everything a seal says."""
    body = dumps(
        [
            "loopgate-audit-seal/1",
            seq,
            digest.hex(),
            row_count,
            first_seq,
            note or "",
            sealed_at.isoformat(),
        ]
    )
    return hmac.new(key, body.encode(), hashlib.sha256).digest()


def read_seal(cur: duckdb.DuckDBPyConnection) -> Seal | None:
    """The seal row, None when the trail was never sealed (or the row was deleted)."""
    try:
        row = cur.execute(
            "SELECT seq, hash, row_count, first_seq, note, key_id, sealed_at, mac "
            "FROM audit_seal WHERE id = 1"
        ).fetchone()
    except duckdb.CatalogException:  # a file opened read-only before its upgrade
        return None
    if row is None:
        return None
    seq, digest, count, first, note, kid, at, mac = row
    return Seal(seq, bytes(digest), count, first, note, kid, at, bytes(mac))


def write_seal(
    cur: duckdb.DuckDBPyConnection, state: SealState, seq: int, digest: bytes, at: datetime
) -> None:
    """Sign the head (``seq``, ``digest``) inside the caller's transaction (nothing when
    there is no usable key)."""
    if state.key is None:
        return
    mac = seal_mac(state.key, seq, digest, seq, state.first_seq, state.note, at)
    values = [seq, digest, seq, state.first_seq, state.note, key_id(state.key), at, mac]
    updated = cur.execute(  # an in-place update: no delete + insert per commit
        "UPDATE audit_seal SET seq = ?, hash = ?, row_count = ?, first_seq = ?, note = ?, "
        "key_id = ?, sealed_at = ?, mac = ? WHERE id = 1 RETURNING id",
        values,
    ).fetchall()
    if not updated:
        cur.execute("INSERT INTO audit_seal VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)", values)


# ---------------------------------------------------------------- the key file


def _fix(path: Path) -> str:
    return (
        f"restore {path} from your backup of it, or set LOOPGATE_AUDIT_KEY_FILE to where "
        "the key is (see docs/audit.md)"
    )


def read_key(path: Path) -> tuple[bytes | None, str | None]:
    """Read a key file without following a symlink; it must be ours and private.

    Returns:
        (key, None), or (None, why not) when it is missing or cannot be trusted.
    """
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    except FileNotFoundError:
        return None, f"the audit key file {path} is missing"
    except OSError as exc:  # ELOOP: a symlink
        return None, (
            f"the audit key file {path} cannot be read ({exc.strerror}); it must be a "
            "regular file, not a symlink"
        )
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, f"the audit key file {path} is not a regular file"
        if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
            return None, f"the audit key file {path} is owned by uid {info.st_uid}, not by you"
        if info.st_mode & 0o077:
            return None, (
                f"the audit key file {path} has mode {stat.S_IMODE(info.st_mode):04o}: other "
                f"users may read or change it; check it, then chmod 600 {path}"
            )
        text = os.read(fd, 4096).decode("ascii", "replace").strip()
    finally:
        os.close(fd)
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        return None, f"the audit key file {path} does not hold a key ({KEY_BYTES * 2} hex digits)"
    return key, None


def create_key(path: Path) -> bytes | None:
    """Create a new key file atomically (exclusive, no symlink followed, mode 0600).

    Returns:
        The key; None when the file appeared meanwhile (the caller reads it).
    """
    key = secrets.token_bytes(KEY_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
    except FileExistsError:
        return None
    try:
        os.write(fd, key.hex().encode() + b"\n")
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    os.close(fd)
    return key


def load_key(path: Path, *, create: bool) -> tuple[bytes | None, str | None, bool]:
    """The key at ``path``, created when missing and ``create``.

    Returns:
        (key or None, the problem with it and what to do, whether it was just created).
    """
    if create and not os.path.lexists(path):
        key = create_key(path)
        if key is not None:
            return key, None, True
    key, problem = read_key(path)
    if problem:
        return None, f"{problem}: {_fix(path)}", False
    return key, None, False


# ---------------------------------------------------------------- checking a seal


def seal_vs_head(seal: Seal, head_seq: int, hash_at_seal: bytes | None) -> str | None:
    """What is wrong between a (genuine) seal and the trail: rows deleted after it, rows
    appended after it, or a chain rewritten under it; None when they agree.

    Args:
        seal: the seal, its signature already checked.
        head_seq: the trail's last row.
        hash_at_seal: the hash of the trail's row ``seal.seq`` (None when it is missing).
    """
    if head_seq < seal.seq:
        return (
            f"the trail ends at row {head_seq} but was sealed at row {seal.seq}: "
            f"rows {head_seq + 1}-{seal.seq} were deleted"
        )
    if seal.seq and hash_at_seal != seal.hash:
        return (
            f"the seal at row {seal.seq} does not match: the chain was rewritten "
            "(rows were changed and their hashes recomputed)"
        )
    if head_seq > seal.seq:
        return (
            f"{head_seq - seal.seq} rows after the last seal (rows {seal.seq + 1}-{head_seq}, "
            f"sealed at row {seal.seq}): rows were appended without the key"
        )
    return None


def seal_signature_problem(seal: Seal, key: bytes, path: str) -> str | None:
    """Whether ``seal`` was made with ``key`` and not changed since."""
    if seal.key_id != key_id(key):
        return (
            f"the trail was sealed with key {seal.key_id}, but the audit key file {path} holds "
            f"key {key_id(key)}: point LOOPGATE_AUDIT_KEY_FILE at the right key file (or the "
            "seal's key id was changed without the key)"
        )
    if not hmac.compare_digest(seal.mac, seal.expected_mac(key)):
        return (
            f"the seal (at row {seal.seq}) was changed without the key: its signature does "
            "not match what it says"
        )
    return None


# ---------------------------------------------------------------- cross-checks

# The last outcome event of each review: review.decided, review.expired, or the
# run.cancelled that listed it, and what each implies for the reviews table.
_REVIEW_EVENTS = """
WITH ev AS (
    SELECT review_id, seq, kind, actor, data->>'action' AS action
    FROM audit_events WHERE kind IN ('review.decided', 'review.expired')
      AND review_id IS NOT NULL
    UNION ALL
    SELECT unnest(CAST(data->'reviews' AS VARCHAR[])) AS review_id, seq, kind, actor,
           NULL AS action
    FROM audit_events WHERE kind = 'run.cancelled'
), last AS (
    SELECT review_id, max(seq) AS seq, arg_max(kind, seq) AS kind,
           arg_max(actor, seq) AS actor, arg_max(action, seq) AS action
    FROM ev GROUP BY review_id
), want AS (
    SELECT review_id, seq, kind, actor, action,
           CASE WHEN kind = 'review.decided' THEN 'decided'
                WHEN kind = 'run.cancelled' THEN 'cancelled'
                WHEN action IN ('timeout', 'escalate') OR action IS NULL THEN 'expired'
                ELSE 'decided' END AS status
    FROM last
), pair AS (
    SELECT coalesce(r.id, w.review_id) AS id, r.id IS NOT NULL AS present,
           r.status, r.decided_by, r.action, w.seq, w.kind, w.status AS want_status,
           w.actor AS want_by, w.action AS want_action
    FROM reviews r FULL OUTER JOIN want w ON w.review_id = r.id
    WHERE r.id IS NULL OR r.status <> 'pending' OR w.review_id IS NOT NULL
)
"""
_REVIEW_BAD = """
    NOT present OR seq IS NULL
    OR status IS DISTINCT FROM want_status
    OR decided_by IS DISTINCT FROM want_by
    OR action IS DISTINCT FROM want_action
"""

# The last outcome event of each run (a retry reopens it) against the runs table.
_RUN_EVENTS = """
WITH last AS (
    SELECT run_id, max(seq) AS seq, arg_max(kind, seq) AS kind,
           arg_max(data->>'result', seq) AS result, arg_max(data->>'error', seq) AS error
    FROM audit_events
    WHERE kind IN ('run.succeeded', 'run.failed', 'run.cancelled', 'run.retried')
      AND run_id IS NOT NULL
    GROUP BY run_id
), pair AS (
    SELECT coalesce(r.id, l.run_id) AS id, r.id IS NOT NULL AS present, r.status, r.result,
           r.error, l.seq, l.kind, l.result AS want_result, l.error AS want_error
    FROM runs r FULL OUTER JOIN last l ON l.run_id = r.id
    WHERE r.id IS NULL OR r.status IN ('succeeded', 'failed')
       OR l.kind IN ('run.succeeded', 'run.failed', 'run.cancelled')
)
"""
_RUN_BAD = """
    NOT present
    OR (kind IS NULL OR kind = 'run.retried')
    OR (kind = 'run.succeeded' AND (status <> 'succeeded'
        OR coalesce(result, '') <> coalesce(want_result, '')))
    OR (kind = 'run.failed' AND (status <> 'failed' OR error IS DISTINCT FROM want_error))
    OR (kind = 'run.cancelled' AND status <> 'failed')
"""


def _q(value: object) -> str:
    return "none" if value is None else repr(value)


def _review_message(row: tuple) -> str:
    rid, present, status, by, action, seq, kind, want_status, want_by, want_action = row
    if not present:
        return (
            f"review {rid} is settled by the trail ({kind} at row {seq}) but is missing "
            "from the reviews table"
        )
    if seq is None:
        return (
            f"review {rid} is {status} by {_q(by)} (action {_q(action)}) in the reviews table, "
            "but the trail never decided it: the table was changed behind the trail's back"
        )
    return (
        f"review {rid} says status {_q(status)}, decided_by {_q(by)}, action {_q(action)} in "
        f"the reviews table, but its {kind} event (row {seq}) says {_q(want_status)}, "
        f"{_q(want_by)}, {_q(want_action)}: the table was changed behind the trail's back"
    )


def _run_message(row: tuple) -> str:
    rid, present, status, result, error, seq, kind, want_result, want_error = row
    if not present:
        return f"run {rid} is in the trail ({kind} at row {seq}) but missing from the runs table"
    if kind is None or kind == "run.retried":
        return (
            f"run {rid} is {status} in the runs table, but the trail never finished it: "
            "the table was changed behind the trail's back"
        )
    return (
        f"run {rid} says status {_q(status)}, result {_q(result)}, error {_q(error)} in the "
        f"runs table, but its {kind} event (row {seq}) says result {_q(want_result)}, error "
        f"{_q(want_error)}: the table was changed behind the trail's back"
    )


def cross_check(cur: duckdb.DuckDBPyConnection) -> tuple[int, int, list[str], int]:
    """Every settled review and finished run against its event in the trail.

    Returns:
        (reviews checked, runs checked, the first mismatch of each table, how many
        mismatches in all).
    """
    problems: list[str] = []
    counts = []
    total = 0
    for events, bad, message in (
        (_REVIEW_EVENTS, _REVIEW_BAD, _review_message),
        (_RUN_EVENTS, _RUN_BAD, _run_message),
    ):
        checked, wrong = cur.execute(
            f"{events} SELECT count(*), count(*) FILTER (WHERE {bad}) FROM pair"
        ).fetchone()
        counts.append(checked)
        if wrong:
            first = cur.execute(
                f"{events} SELECT * FROM pair WHERE {bad} ORDER BY seq NULLS FIRST, id LIMIT 1"
            ).fetchone()
            problems.append(message(first))
            total += wrong
    return counts[0], counts[1], problems, total
