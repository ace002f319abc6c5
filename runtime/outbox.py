"""The outbox dispatcher: sends the messages that runs queued, after their steps committed.

A ``notify`` node only appends a row to the ``outbox`` table, in the same transaction as
its step, so a retried or resumed run never queues a message twice. This module sends the
pending rows through SMTP and records each attempt (status, attempts, last error, next
attempt time) together with an audit event. Delivery is at least once: a process killed
between the SMTP server's "250 OK" and the status update sends that message again; the
``Message-ID`` is the outbox id, so mail clients and receivers can drop the duplicate.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any, Literal

from runtime.nodes.base import utcnow
from runtime.settings import SmtpSettings, smtp_settings
from runtime.store import Event, Store

SYSTEM = "system"
SendStatus = Literal["sent", "failed"]

# One dispatcher at a time per open store (DuckDB gives the file to one process, so an
# in-process lock is enough to keep the sweeper and a CLI command from sending a row twice).
_LOCKS: weakref.WeakKeyDictionary[Store, threading.Lock] = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def _lock_for(store: Store) -> threading.Lock:
    with _LOCKS_GUARD:
        lock = _LOCKS.get(store)
        if lock is None:
            lock = _LOCKS[store] = threading.Lock()
        return lock


@dataclass(frozen=True, slots=True)
class SendResult:
    """What happened to one message in one round.

    Attributes:
        id: the outbox row.
        status: ``sent`` or ``failed``.
        attempts: tries so far, this one included.
        recipient: the To line.
        error: why it failed (None when sent; the refused addresses of a partial send).
        next_attempt_at: when it is tried again; None when sent or given up.
    """

    id: str
    status: SendStatus
    attempts: int
    recipient: str | None
    error: str | None = None
    next_attempt_at: datetime | None = None

    @property
    def gave_up(self) -> bool:
        """True when the message failed and no further attempt is planned."""
        return self.status == "failed" and self.next_attempt_at is None


class _Permanent(Exception):
    """A failure that another try will not fix (the server refused the message)."""


class _Unreachable(Exception):
    """The SMTP server could not be reached or refused the session (try again later)."""


class _Connection:
    """One SMTP session for a round, opened on the first message."""

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self.client: smtplib.SMTP | None = None
        self.broken: _Unreachable | None = None

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        where = f"SMTP server {s.host}:{s.port}"
        try:
            client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        except (OSError, smtplib.SMTPException) as exc:
            raise _Unreachable(f"cannot reach {where}: {_describe(exc)}") from None
        try:
            if s.starttls:
                client.starttls(context=ssl.create_default_context())
            if s.user:
                client.login(s.user, s.password or "")
        except (OSError, smtplib.SMTPException) as exc:
            with contextlib.suppress(Exception):
                client.close()
            step = "log in to" if isinstance(exc, smtplib.SMTPAuthenticationError) else "use"
            raise _Unreachable(f"cannot {step} {where}: {_describe(exc)}") from None
        return client

    def send(self, message: EmailMessage) -> dict[str, Any]:
        """Send one message; returns the refused recipients (empty when all took it)."""
        if self.broken is not None:
            raise self.broken
        for attempt in (1, 2):
            if self.client is None:
                try:
                    self.client = self._open()
                except _Unreachable as exc:
                    self.broken = exc
                    raise
            try:
                return self.client.send_message(message)
            except smtplib.SMTPServerDisconnected as exc:
                self.client = None  # the server hung up between messages: reconnect once
                if attempt == 2:
                    raise _Unreachable(
                        f"SMTP server {self.settings.host}:{self.settings.port} "
                        f"disconnected: {_describe(exc)}"
                    ) from None
            except smtplib.SMTPRecipientsRefused as exc:
                refused = _refused(exc.recipients)
                if all(code >= 500 for code, _ in exc.recipients.values()):
                    raise _Permanent(f"every recipient was refused: {refused}") from None
                raise smtplib.SMTPException(f"recipients refused for now: {refused}") from None
            except smtplib.SMTPResponseException as exc:
                text = f"SMTP server answered {exc.smtp_code} {_text(exc.smtp_error)}"
                if exc.smtp_code >= 500:
                    raise _Permanent(text) from None
                raise smtplib.SMTPException(text) from None
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.quit()
            self.client = None


class OutboxDispatcher:
    """Sends pending outbox rows and records every attempt.

    Args:
        store: the open store.
        settings: SMTP settings; None reads them from the environment (``smtp_settings()``).
        max_attempts: tries per message (default: the settings', 5).
        clock: the current time (UTC, naive), injectable in tests.
    """

    def __init__(
        self,
        store: Store,
        settings: SmtpSettings | None = None,
        *,
        max_attempts: int | None = None,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.store = store
        self.settings = settings if settings is not None else smtp_settings()
        self.max_attempts = max(1, max_attempts or self.settings.max_attempts)
        self.clock = clock

    def retry_delay(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed try: backoff_seconds * 2**attempts."""
        return timedelta(seconds=self.settings.backoff_seconds * 2**attempts)

    def send_pending(self, limit: int = 100, *, force: bool = False) -> list[SendResult]:
        """Send up to ``limit`` due messages, oldest first.

        A message is due when it is pending, or when it failed, has tries left and its
        next attempt time has come. An unreachable server fails every message of the round
        (each counts a try) without raising.

        Args:
            limit: the most messages to send in this round.
            force: also send failed messages now, whatever their attempts and schedule.

        Returns:
            One result per message tried.
        """
        with _lock_for(self.store):
            rows = self.store.pending_outbox(
                self.clock(), limit, max_attempts=self.max_attempts, force=force
            )
            if not rows:
                return []
            conn = _Connection(self.settings)
            try:
                return [self._deliver(conn, row) for row in rows]
            finally:
                conn.close()

    def _deliver(self, conn: _Connection, row: dict[str, Any]) -> SendResult:
        attempts = int(row["attempts"] or 0) + 1
        error: str | None = None
        sent = permanent = False
        try:
            if row["channel"] != "email":
                raise _Permanent(f"unknown channel {row['channel']!r}; only email is sent")
            refused = conn.send(self._message(row))
            sent = True
            if refused:
                error = f"sent, but some recipients were refused: {_refused(refused)}"
        except _Permanent as exc:
            error, permanent = str(exc), True
        except _Unreachable as exc:
            error = str(exc)
        except ValueError as exc:  # the message cannot be built (a bad header)
            error, permanent = f"cannot build the message: {exc}", True
        except (OSError, smtplib.SMTPException) as exc:
            error = _describe(exc)
        now = self.clock()
        if sent:
            status: SendStatus = "sent"
            next_at = None
        else:
            status = "failed"
            last_try = permanent or attempts >= self.max_attempts
            next_at = None if last_try else now + self.retry_delay(attempts)
        data: dict[str, Any] = {
            "outbox_id": row["id"],
            "channel": row["channel"],
            "to": row["recipient"],
            "subject": row["subject"],
            "attempts": attempts,
        }
        if error:
            data["error"] = error
        if status == "failed":
            data["next_attempt_at"] = next_at.isoformat() if next_at else None
        self.store.mark_outbox(
            row["id"],
            status=status,
            attempts=attempts,
            last_error=error,
            sent_at=now if sent else None,
            next_attempt_at=next_at,
            event=Event(
                kind=f"outbox.{status}",
                run_id=row["run_id"],
                node_id=row["node_id"],
                actor=SYSTEM,
                at=now,
                data=data,
            ),
        )
        return SendResult(
            id=row["id"],
            status=status,
            attempts=attempts,
            recipient=row["recipient"],
            error=error,
            next_attempt_at=next_at,
        )

    def _message(self, row: dict[str, Any]) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.settings.sender
        msg["To"] = row["recipient"] or ""
        msg["Subject"] = row["subject"] or ""
        msg["Date"] = format_datetime(row["created_at"].replace(tzinfo=UTC))
        domain = parseaddr(self.settings.sender)[1].rpartition("@")[2] or "loopgate.localhost"
        msg["Message-ID"] = f"<{row['id']}@{domain}>"
        if row["run_id"]:
            msg["X-Loopgate-Run"] = row["run_id"]
        if row["idempotency_key"]:
            msg["X-Loopgate-Idempotency-Key"] = row["idempotency_key"]
        msg.set_content(row["body"] or "")
        return msg


def send_queued(
    store: Store, warn: Callable[[str], None], *, settings: SmtpSettings | None = None
) -> list[SendResult]:
    """Send what a command queued, after it committed. Never raises.

    Messages that cannot be sent stay in the outbox (pending, or failed with a next
    attempt time) and ``warn`` gets one line saying so.
    """
    results: list[SendResult] = []
    try:
        dispatcher = OutboxDispatcher(store, settings)
        while True:
            round_ = dispatcher.send_pending(100)
            results += round_
            if len(round_) < 100 or any(r.status != "sent" for r in round_):
                break
    except Exception as exc:  # a mail problem must never fail the command that queued it
        warn(
            f"warning: the outbox was not sent: {type(exc).__name__}: {exc}; "
            "messages stay queued (`loopgate outbox send` sends them)"
        )
        return results
    failed = [r for r in results if r.status != "sent"]
    if failed:
        warn(
            f"warning: {len(failed)} of {len(results)} message(s) not sent: {failed[-1].error}; "
            "they stay in the outbox (`loopgate outbox list --status failed`)"
        )
    return results


# ---------------------------------------------------------------- helpers


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _refused(recipients: dict[str, Any]) -> str:
    return ", ".join(f"{addr} ({code} {_text(msg)})" for addr, (code, msg) in recipients.items())


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, smtplib.SMTPException) else f"{type(exc).__name__}: {text}"
