"""The outbox of a DuckDB store: messages waiting to leave, and their delivery attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from runtime.domain import Event, WriteBatch
from runtime.store.duckdb.rows import where
from runtime.store.duckdb.unit_of_work import DuckDBWrites


class DuckDBOutbox(DuckDBWrites):
    """Messages sent after the step that queued them commits
    (``runtime.store.contract.OutboxStore``)."""

    def list_outbox(
        self, status: str | None = None, *, run_id: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Outbox messages, newest first, optionally of one status or run."""
        clause, params = where(status=status, run_id=run_id)
        sql = f"SELECT * FROM outbox {clause} ORDER BY created_at DESC, id DESC LIMIT ?"
        return self._rows(sql, [*params, limit])

    def pending_outbox(
        self, now: datetime, limit: int = 100, *, max_attempts: int = 5, force: bool = False
    ) -> list[dict[str, Any]]:
        """Messages due for sending, oldest first.

        Every pending one, and failed ones with tries left whose next attempt time has come
        (a failed row without a next attempt time was given up).

        Args:
            now: the time now.
            limit: at most this many.
            max_attempts: failed rows with this many attempts are given up.
            force: every failed one too, whatever its attempts and schedule.
        """
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
