"""Where things live by default; every default can be overridden by the environment."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DB = "loopgate.duckdb"


def default_db_path() -> Path:
    """The database the app and the CLI use: $LOOPGATE_DB, else ./loopgate.duckdb."""
    return Path(os.environ.get("LOOPGATE_DB") or DEFAULT_DB)


def server_file(db_path: str | Path) -> Path:
    """The file a running server writes next to its database, holding its address."""
    return Path(str(db_path) + ".server.json")
