"""Conformance: migrations are append-only and a newer schema is refused."""

from __future__ import annotations

import pytest

from runtime.errors import StoreError
from tests.store.contract.conftest import StoreFactory

# Every backend's migrations as released: a list may only grow. Append here when you
# append a migration; never edit or remove a line.
RELEASED: dict[str, list[str]] = {
    "duckdb": [
        "initial schema",
        "outbox retry schedule",
        "models: the builtin provider's trained classifiers, one row per version",
        "decision journal: a decision is durable with one write; runs resume from it",
    ],
}


def test_migrations_are_append_only(store_factory: StoreFactory) -> None:
    released = RELEASED[store_factory.name]
    assert store_factory.migrations[: len(released)] == released


def test_a_new_store_runs_every_migration_once(store_factory: StoreFactory) -> None:
    store = store_factory.open()
    assert store.schema_version() == len(store_factory.migrations)
    store.close()
    store = store_factory.open()  # reopening runs nothing again
    assert store.schema_version() == len(store_factory.migrations)
    store.close()
    rows = store_factory.raw("SELECT version, description FROM schema_version ORDER BY version")
    assert rows == list(enumerate(store_factory.migrations, start=1))


def test_a_newer_schema_is_refused(store_factory: StoreFactory) -> None:
    store_factory.open().close()
    newer = len(store_factory.migrations) + 1
    store_factory.raw(
        f"INSERT INTO schema_version VALUES ({newer}, 'from the future', TIMESTAMP '2030-01-01')"
    )
    with pytest.raises(StoreError, match="newer"):
        store_factory.open()
