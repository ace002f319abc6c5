"""What nodes reach outside the run: record reads, trained models and server settings."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runtime.settings import OutboundPolicy, outbound_policy
from runtime.store.contract import Catalog

if TYPE_CHECKING:
    from runtime.models.registry import ModelRegistry


@dataclass
class Services:
    """The engine's :class:`~runtime.nodes.base.NodeServices`: what it passes to nodes in
    ``RunContext.services``.

    It holds the store, but nodes reach only the narrow calls below, never ``store``.

    Args:
        store: The store records and models are read from.
        settings: Server settings nodes read (``dry_run``).
        outbound: The allow-lists of what nodes may reach outside (model key variables,
            model base URLs, webhook hosts); None: read from the environment at each use,
            so a changed setting applies without building new services.
    """

    store: Catalog
    settings: dict[str, Any]
    outbound: OutboundPolicy | None = None
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

    def outbound_policy(self) -> OutboundPolicy:
        """The allow-lists given at construction, else the environment's (see
        :func:`runtime.settings.outbound_policy`)."""
        return self.outbound if self.outbound is not None else outbound_policy()

    def get_record(self, table: str, key: str) -> dict[str, Any] | None:
        """A live record of the built-in record store, or None."""
        return self.store.get_record(table, key)


def default_services(store: Catalog) -> Services:
    """Services on a store with no settings."""
    return Services(store=store, settings={})
