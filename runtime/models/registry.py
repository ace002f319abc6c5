"""The classifiers a store holds, by name and version, loaded once per process.

Models live in the database (table ``models``, one row per version; see docs/models.md).
The shipped model, ``support-intents``, is trained from ``examples/data/support_messages.csv``
the first time a store needs it.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from runtime.models.errors import ModelError
from runtime.models.shipped import SHIPPED_DATA, SHIPPED_MODEL

if TYPE_CHECKING:
    from runtime.models.classifier import TextClassifier
    from runtime.models.gate_threshold import ChosenThreshold
    from runtime.models.training import TrainReport
    from runtime.store import Store


class ModelRegistry:
    """Loads, caches and trains the builtin classifiers of one store.

    Loaded classifiers are cached in memory per ``(name, version)``; a version never
    changes once saved, so the cache never goes stale. Which version is the default (the
    one promoted last) is read from the store on every call without a version, so a
    promoted retrain (from the CLI, or from another thread) is picked up by the next run.

    Args:
        store: the store whose ``models`` table holds the classifiers.
    """

    def __init__(self, store: Store):
        self.store = store
        self._cache: dict[tuple[str, int], TextClassifier] = {}
        self._thresholds: dict[tuple, tuple[float, ChosenThreshold]] = {}
        self._lock = threading.RLock()

    #: Seconds a gate's chosen threshold is reused before the decisions are read again.
    threshold_ttl = 300.0

    def gate_threshold(
        self, name: str, version: int, *, target: float, workflow_id: str, node_id: str
    ) -> ChosenThreshold:
        """The threshold a ``target_error`` gate applies to items of model ``name`` v``version``.

        From the reviewers' decisions at that gate since the version was created, once
        there are :data:`~runtime.models.gate_threshold.MIN_DECISIONS` of them; else from
        the version's out-of-fold calibration rows (stored with it). Cached for
        :attr:`threshold_ttl` seconds per gate and version.

        Raises:
            ModelError: no such model version.
        """
        from runtime.models.gate_threshold import choose_from_decisions, choose_threshold
        from runtime.store.analytics_contract import AnalyticsScope

        key = (name, int(version), float(target), workflow_id, node_id)
        cached = self._thresholds.get(key)
        if cached is not None and time.monotonic() - cached[0] < self.threshold_ttl:
            return cached[1]
        row = self.store.get_model(name, int(version))
        if row is None:
            raise ModelError(f"model {name} has no version {version}; see `loopgate model list`")
        rows = (row.get("training") or {}).get("calibration") or {}
        choice = choose_threshold(rows.get("confidence") or [], rows.get("correct") or [], target)
        judged = getattr(self.store, "judged_confidences", None)
        if judged is not None:
            scope = AnalyticsScope(
                workflow_id=workflow_id, node_id=node_id, since=row["created_at"]
            )
            from_decisions = choose_from_decisions(judged(scope), target)
            choice = from_decisions or choice
        with self._lock:
            self._thresholds[key] = (time.monotonic(), choice)
        return choice

    def latest_version(self, name: str) -> int | None:
        """The newest stored version of ``name``, or None when there is none."""
        return self.store.latest_model_version(name)

    def default_version(self, name: str) -> int | None:
        """The version runs use: the one promoted last (the newest on a store from before
        promotions), or None when there is none."""
        return self.store.default_model_version(name)

    def promote(self, name: str, version: int, *, by: str, reason: str | None = None) -> str:
        """Make a stored version the default by hand (``loopgate model promote``), audited
        as ``model.promoted``.

        Returns:
            The reason recorded.

        Raises:
            ModelError: no such model or version.
        """
        from runtime.models.training import promotion_event

        if self.store.get_model(name, int(version)) is None:
            newest = self.latest_version(name)
            raise ModelError(
                self._unknown(name)
                if newest is None
                else f"model {name} has no version {version} (newest: {newest}); see "
                "`loopgate model list`"
            )
        why = reason or f"promoted by hand by {by}"
        with self._lock:
            self.store.promote_model(name, int(version), by=by, reason=why)
            self.store.append_events([promotion_event(name, int(version), by, why)])
        return why

    def classifier(self, name: str, version: int | None = None) -> tuple[TextClassifier, int]:
        """A classifier by name: the given version, or the default (see
        :meth:`default_version`).

        The shipped model is trained and saved first when the store has no version of it.

        Returns:
            ``(classifier, version)``.

        Raises:
            ModelError: no such model or version, or a stored blob that does not load.
        """
        if version is None:
            version = self.default_version(name)
            if version is None and name == SHIPPED_MODEL:
                version = self.ensure_shipped()
            if version is None:
                raise ModelError(self._unknown(name))
        key = (name, int(version))
        cached = self._cache.get(key)
        if cached is not None:
            return cached, key[1]
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                return cached, key[1]
            row = self.store.get_model(name, key[1])
            if row is None:
                raise ModelError(
                    self._unknown(name)
                    if self.latest_version(name) is None
                    else f"model {name} has no version {version} (newest: "
                    f"{self.latest_version(name)}); see `loopgate model list`"
                )
            from runtime.models.kinds import load_classifier

            try:
                model = load_classifier(row["blob"])
            except ModelError as exc:
                raise ModelError(f"model {name} v{version} does not load: {exc}") from exc
            self._cache[key] = model
            return model, key[1]

    def remember(self, name: str, version: int, model: TextClassifier) -> None:
        """Cache a classifier just trained and saved as ``version`` (no need to reload it)."""
        with self._lock:
            self._cache[(name, int(version))] = model

    def ensure_shipped(self) -> int:
        """Train the shipped model from its data set as version 1 unless the store has it.

        Returns:
            The newest version of the shipped model.

        Raises:
            ModelError: the data set is missing (an install without ``examples/``).
        """
        with self._lock:
            version = self.latest_version(SHIPPED_MODEL)
            if version is not None:
                return version
            if not SHIPPED_DATA.is_file():
                raise ModelError(
                    f"the shipped model's data set {SHIPPED_DATA} is missing; train the model "
                    f"from a file: loopgate model train {SHIPPED_MODEL} --data FILE.csv"
                )
            return self.train(SHIPPED_MODEL, source="shipped").version

    def train(self, name: str, **options: object) -> TrainReport:
        """Train and save a new version; see :func:`runtime.models.training.train_version`."""
        from runtime.models.training import train_version

        with self._lock:
            return train_version(self, name, **options)  # type: ignore[arg-type]

    def _unknown(self, name: str) -> str:
        known = sorted({m["name"] for m in self.store.list_models()} | {SHIPPED_MODEL})
        return (
            f"no model named {name!r} (models: {', '.join(known)}); train one with "
            f"`loopgate model train {name} --data FILE.csv`"
        )
