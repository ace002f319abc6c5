"""Shared fixtures: a temp database path, a store on it, and an engine with two users."""

from __future__ import annotations

import pytest

from runtime.auth import add_user
from runtime.engine import Engine
from runtime.services import default_services
from runtime.store import Store


@pytest.fixture
def tmp_db(tmp_path):
    """A path for a fresh database file (not created yet)."""
    return tmp_path / "loopgate.duckdb"


@pytest.fixture
def store(tmp_db):
    """A Store on a temp file, closed after the test."""
    s = Store(tmp_db)
    yield s
    s.close()


@pytest.fixture
def engine(store):
    """An Engine on the temp store with `mia` (reviewer, team managers) and `admin` (admin)."""
    add_user(store, "mia", roles=["reviewer"], teams=["managers"])
    add_user(store, "admin", roles=["admin"], teams=[])
    return Engine(store, services=default_services(store))
