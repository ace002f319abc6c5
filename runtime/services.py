"""What action nodes reach outside the run: the record store, mail, HTTP, functions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runtime.store import Store


@dataclass
class Services:
    """Handles the engine passes to nodes in ``RunContext.services``."""

    store: Store
    settings: dict[str, Any]


def default_services(store: Store) -> Services:
    return Services(store=store, settings={})
