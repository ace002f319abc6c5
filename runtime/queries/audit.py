"""The audit trail and the outbox as the edges read them (admins and auditors; operators
may also read the outbox)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from runtime.access import User, require_reader
from runtime.queries.window import WindowFilter

if TYPE_CHECKING:
    from runtime.store.contract import ExportFormat, Store


MAX_PAGE = 500
"""The most audit events one search page returns."""

MAX_EXPORT = 100_000
"""The most rows one export of a search writes (a download is held in memory)."""


class AuditSearch(WindowFilter):
    """An audit search: every filter optional (None or empty: no filter).

    Attributes:
        run_id: only this run's events.
        review_id: only this review's events.
        actor: only events by this user.
        node_id: only events at this node.
        kind: only events of this kind (``step``, ``review.decided``, ...).
        text: only events whose data contains this text (case-insensitive, literally).
        since: only events at or after this time (UTC).
        until: only events before this time (UTC).
    """

    run_id: str | None = None
    review_id: str | None = None
    actor: str | None = None
    node_id: str | None = None
    kind: str | None = None
    text: str | None = None


class AuditPage(BaseModel):
    """One page of an audit search.

    Attributes:
        events: the events, newest first.
        offset: how many events come before this page.
        more: whether another page follows.
    """

    events: list[dict[str, Any]]
    offset: int
    more: bool


class ChainCheck(BaseModel):
    """The result of checking the audit chain.

    Attributes:
        ok: whether the trail is intact.
        rows: how many rows were checked.
        message: what the check found (the first problem and how many others).
        bad_row: the first row the problem names (``audit row N``), as stored; None when
            the trail is intact or the problem names no row.
    """

    ok: bool
    rows: int
    message: str
    bad_row: dict[str, Any] | None = None


def _require_auditor(user: User | None) -> None:
    require_reader(user, roles=(), what="read the audit trail")


def audit_events(
    store: Store,
    user: User | None,
    *,
    run_id: str | None = None,
    kind: str | None = None,
    actor: str | None = None,
    text: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Audit events, newest first.

    Args:
        store: the store.
        user: the signed-in user (an admin or auditor), or None for the local caller.
        run_id: only this run's events.
        kind: only events of this kind (``step``, ``review.decided``, ...).
        actor: only events by this user.
        text: only events whose data contains this text (case-insensitive).
        limit: the page size.
        offset: how many events to skip.

    Returns:
        Rows of ``seq, occurred_at, kind, run_id, review_id, node_id, actor, data, hash``.

    Raises:
        AccessError: the user is neither an admin nor an auditor.
    """
    _require_auditor(user)
    return store.audit_events(
        run_id=run_id, kind=kind, actor=actor, text=text, limit=limit, offset=offset
    )


def search_audit(
    store: Store, user: User | None, search: AuditSearch, *, page_size: int = 50, offset: int = 0
) -> AuditPage:
    """One page of an audit search, newest first (the page size is capped at
    :data:`MAX_PAGE`).

    Args:
        store: the store.
        user: the signed-in user (an admin or auditor), or None for the local caller.
        search: the filters.
        page_size: events per page (1 to :data:`MAX_PAGE`).
        offset: how many events come before the page (0 or more).

    Returns:
        The page, and whether another follows.

    Raises:
        AccessError: the user is neither an admin nor an auditor.
        ValueError: the time window ends before it starts.
    """
    _require_auditor(user)
    if problem := search.problem():
        raise ValueError(problem)
    size = max(1, min(page_size, MAX_PAGE))
    offset = max(0, offset)
    rows = store.audit_events(**search.filters(), limit=size + 1, offset=offset)
    return AuditPage(events=rows[:size], offset=offset, more=len(rows) > size)


def run_timeline(store: Store, user: User | None, run_id: str) -> list[dict[str, Any]]:
    """Every audit event of one run, oldest first (its start, steps, reviews, decisions,
    retries, cancellation and end).

    Args:
        store: the store.
        user: the signed-in user (an admin or auditor), or None for the local caller.
        run_id: the run.

    Returns:
        Rows of ``seq, occurred_at, kind, review_id, node_id, actor, data``; empty when the
        trail has no event of that run.

    Raises:
        AccessError: the user is neither an admin nor an auditor.
    """
    _require_auditor(user)
    return store.run_events(run_id.strip())


_ROW = re.compile(r"\baudit row (\d+)\b")


def check_chain(store: Store, user: User | None) -> ChainCheck:
    """Check the audit trail (the chain, its seal and the cross-checks; docs/audit.md),
    like ``loopgate audit verify``.

    Args:
        store: the store.
        user: the signed-in user (an admin or auditor), or None for the local caller.

    Returns:
        The result, with the first row the problem names.

    Raises:
        AccessError: the user is neither an admin nor an auditor.
    """
    _require_auditor(user)
    ok, rows, message = store.verify_audit_chain()
    bad = None
    if not ok and (m := _ROW.search(message)):
        bad = store.audit_event(int(m.group(1)))
    return ChainCheck(ok=ok, rows=rows, message=message, bad_row=bad)


def export_search(
    store: Store,
    user: User | None,
    search: AuditSearch,
    fmt: ExportFormat,
    out: str | Path,
    *,
    limit: int = MAX_EXPORT,
) -> int:
    """Write the events an audit search finds, oldest first, to a CSV, Parquet or JSON
    Lines file (at most ``limit`` rows, capped at :data:`MAX_EXPORT`).

    Args:
        store: the store.
        user: the signed-in user (an admin or auditor), or None for the local caller.
        search: the filters.
        fmt: ``csv``, ``parquet`` or ``jsonl``.
        out: the file to write.
        limit: the most rows to write.

    Returns:
        How many rows were written.

    Raises:
        AccessError: the user is neither an admin nor an auditor.
        ValueError: the time window ends before it starts.
    """
    _require_auditor(user)
    if problem := search.problem():
        raise ValueError(problem)
    filters = {k: v for k, v in search.filters().items() if v is not None}
    return store.export("audit", fmt, out, filters=filters, limit=max(0, min(limit, MAX_EXPORT)))


def outbox_messages(
    store: Store,
    user: User | None,
    *,
    status: str | None = None,
    run_id: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Messages notify nodes queued, newest first.

    Args:
        store: the store.
        user: the signed-in user (an admin, operator or auditor), or None for the local
            caller.
        status: only messages with this status (pending, sent, failed).
        run_id: only this run's messages.
        limit: the most messages to return.

    Returns:
        Every column of the outbox table per message (``id, status, recipient, subject,
        run_id, node_id, attempts, last_error, sent_at, next_attempt_at, ...``).

    Raises:
        AccessError: the user may not read the outbox.
    """
    require_reader(user, roles=("operator",), what="read the outbox")
    return store.list_outbox(status, run_id=run_id, limit=limit)
