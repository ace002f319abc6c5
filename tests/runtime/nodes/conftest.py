"""Fixtures of the node type tests: models on a store, a local chat-completions server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from runtime.models.registry import SHIPPED_MODEL, ModelRegistry
from runtime.services import default_services
from runtime.store import Store
from tests.chatserver import ChatServer, chat_server


@pytest.fixture(scope="session")
def shipped_row() -> dict[str, Any]:
    """The shipped model trained once (as the registry stores it)."""
    store = Store(":memory:")
    ModelRegistry(store).ensure_shipped()
    row = store.get_model(SHIPPED_MODEL)
    store.close()
    assert row is not None
    return row


@pytest.fixture
def services(store: Store, shipped_row: dict[str, Any]):
    """Services on a store that already holds the shipped model (no training per test)."""
    store.save_model(
        SHIPPED_MODEL,
        provider="builtin",
        labels=shipped_row["labels"],
        metrics=shipped_row["metrics"],
        blob=shipped_row["blob"],
        source="shipped",
        training=shipped_row["training"],
    )
    return default_services(store)


@pytest.fixture
def chat(monkeypatch: pytest.MonkeyPatch) -> Iterator[ChatServer]:
    """A chat-completions server on 127.0.0.1 (see :mod:`tests.chatserver`)."""
    with chat_server(monkeypatch) as server:
        yield server
