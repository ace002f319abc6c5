"""The one engine per server process, shared by every page and the API."""

from __future__ import annotations

import threading

from runtime import Engine, open_engine

_engine: Engine | None = None
_secret: str | None = None
_lock = threading.Lock()


def set_engine(engine: Engine | None, secret: str | None = None) -> None:
    """Share the server's engine and secret; the lifespan calls this on open and on close.

    Args:
        engine: the open engine, or None when the server closes the store.
        secret: the server's secret (signs session cookies); None outside a server.
    """
    global _engine, _secret
    _engine, _secret = engine, secret


def engine() -> Engine:
    """The server's engine; outside a server (page tests), one opened on $LOOPGATE_DB."""
    global _engine
    if _engine is None:
        with _lock:
            if _engine is None:
                _engine = open_engine(wait=10)
    return _engine


def secret() -> str | None:
    """The server's secret that signs session cookies (None outside a server)."""
    return _secret
