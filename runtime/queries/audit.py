"""The audit trail and the outbox as the edges read them (admins and auditors; operators
may also read the outbox)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runtime.access import User, require_reader

if TYPE_CHECKING:
    from runtime.store.contract import Store


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
    require_reader(user, roles=(), what="read the audit trail")
    return store.audit_events(
        run_id=run_id, kind=kind, actor=actor, text=text, limit=limit, offset=offset
    )


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
