"""Where things live by default; every default can be overridden by the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime.errors import LoopgateError

DEFAULT_DB = "loopgate.duckdb"


def default_db_path() -> Path:
    """The database the app and the CLI use: $LOOPGATE_DB, else ./loopgate.duckdb."""
    return Path(os.environ.get("LOOPGATE_DB") or DEFAULT_DB)


def server_file(db_path: str | Path) -> Path:
    """The file a running server writes next to its database, holding its address."""
    return Path(str(db_path) + ".server.json")


def audit_key_file(db_path: str | Path) -> Path:
    """The key that seals the audit trail: $LOOPGATE_AUDIT_KEY_FILE, else ``<db>.auditkey``.

    It must live outside the database file (someone who can change the database but cannot
    read this file cannot forge a seal); see docs/audit.md.
    """
    named = os.environ.get("LOOPGATE_AUDIT_KEY_FILE", "").strip()
    return Path(named) if named else Path(str(db_path) + ".auditkey")


# ---------------------------------------------------------------- outbox (SMTP)


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """Where the outbox sends email, and how it retries.

    Attributes:
        host: the SMTP server ($LOOPGATE_SMTP_HOST, default 127.0.0.1).
        port: its port ($LOOPGATE_SMTP_PORT, default 25).
        sender: the From address ($LOOPGATE_SMTP_FROM, default loopgate@localhost).
        user: login name, if the server wants one ($LOOPGATE_SMTP_USER).
        password: its password ($LOOPGATE_SMTP_PASSWORD).
        starttls: upgrade the connection with STARTTLS ($LOOPGATE_SMTP_STARTTLS=1).
        timeout: seconds to wait for the server ($LOOPGATE_SMTP_TIMEOUT, default 10).
        max_attempts: tries per message before it is given up ($LOOPGATE_SMTP_MAX_ATTEMPTS, 5).
        backoff_seconds: the wait after the n-th failed try is backoff_seconds * 2**n
            ($LOOPGATE_SMTP_BACKOFF, default 15: 30 s, 1, 2, 4 minutes).
    """

    host: str = "127.0.0.1"
    port: int = 25
    sender: str = "loopgate@localhost"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    timeout: float = 10.0
    max_attempts: int = 5
    backoff_seconds: float = 15.0


def _env_number(name: str, default: float, kind: type = float) -> Any:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        raise LoopgateError(f"${name} is {text!r}, not a number") from None
    if value < 0:
        raise LoopgateError(f"${name} is {text!r}; it must not be negative")
    return value


def smtp_settings() -> SmtpSettings:
    """The SMTP settings from the environment (see :class:`SmtpSettings`).

    Raises:
        LoopgateError: a numeric variable that is not a number.
    """
    env = os.environ.get
    return SmtpSettings(
        host=env("LOOPGATE_SMTP_HOST", "").strip() or "127.0.0.1",
        port=_env_number("LOOPGATE_SMTP_PORT", 25, int),
        sender=env("LOOPGATE_SMTP_FROM", "").strip() or "loopgate@localhost",
        user=env("LOOPGATE_SMTP_USER") or None,
        password=env("LOOPGATE_SMTP_PASSWORD") or None,
        starttls=env("LOOPGATE_SMTP_STARTTLS", "").strip().lower() in ("1", "true", "yes", "on"),
        timeout=_env_number("LOOPGATE_SMTP_TIMEOUT", 10.0) or 10.0,
        max_attempts=max(1, _env_number("LOOPGATE_SMTP_MAX_ATTEMPTS", 5, int)),
        backoff_seconds=_env_number("LOOPGATE_SMTP_BACKOFF", 15.0),
    )
