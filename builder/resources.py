"""The one engine per server process, shared by every page and the API."""

from __future__ import annotations

import threading

from runtime import Engine, open_engine

_engine: Engine | None = None
_secret: str | None = None
_lock = threading.Lock()


def set_engine(engine: Engine | None, secret: str | None = None) -> None:
    """Called by the server's lifespan when it opens (and closes) the store."""
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
    return _secret
