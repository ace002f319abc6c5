"""What action nodes reach outside the run: the record store, mail, HTTP, functions."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runtime.store import Store

if TYPE_CHECKING:
    from runtime.models.registry import ModelRegistry


@dataclass
class Services:
    """Handles the engine passes to nodes in ``RunContext.services``."""

    store: Store
    settings: dict[str, Any]
    # The AI nodes' classifiers, created on first use (importing them loads scikit-learn).
    _models: ModelRegistry | None = field(default=None, init=False, repr=False)
    _models_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def models(self) -> ModelRegistry:
        """The store's model registry (see runtime.models.registry)."""
        if self._models is None:
            with self._models_lock:
                if self._models is None:
                    from runtime.models.registry import ModelRegistry

                    self._models = ModelRegistry(self.store)
        return self._models


def default_services(store: Store) -> Services:
    return Services(store=store, settings={})
