"""Automatic retraining after N new reviewer corrections (off unless set).

The setting is the environment variable ``LOOPGATE_RETRAIN_AFTER``: a number of label
corrections; unset or 0 turns it off. :func:`retrain_if_due` trains a new version of each
builtin model with at least that many corrections its newest version has not used; the
version is promoted only if it is no worse (see :mod:`runtime.models.training`). It runs
from ``loopgate model retrain-if-due`` and, in ``loopgate serve``, from
:class:`RetrainJob`; both record ``model.trained`` with the actor ``system``.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from runtime.models.errors import ModelError

if TYPE_CHECKING:
    from runtime.models.registry import ModelRegistry
    from runtime.models.training import TrainReport

#: The setting: retrain after this many new corrections (unset or 0: never).
SETTING = "LOOPGATE_RETRAIN_AFTER"
log = logging.getLogger("loopgate.retrain")


def retrain_after(environ: dict[str, str] | None = None) -> int:
    """The configured number of new corrections that triggers a retrain (0: off).

    Raises:
        ModelError: the setting is not a whole number of 0 or more.
    """
    raw = (environ if environ is not None else os.environ).get(SETTING, "").strip()
    if not raw:
        return 0
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ModelError(
            f"{SETTING}={raw!r} is not a number of corrections: set a whole number "
            "(e.g. 50), or 0 to turn automatic retraining off"
        )
    return value


class DueModel(BaseModel):
    """A model and the new corrections since its newest version."""

    name: str
    version: int
    new_corrections: int


def due_models(registry: ModelRegistry) -> list[DueModel]:
    """Every builtin model with its count of label corrections its newest version has not
    used (corrections of a label the model gave, by a reviewer)."""
    from runtime.models.training import feedback_examples

    out = []
    names = sorted({m["name"] for m in registry.store.list_models() if m["provider"] == "builtin"})
    for name in names:
        newest = registry.store.get_model(name)
        if newest is None:
            continue
        used = set((newest.get("training") or {}).get("feedback_ids") or [])
        rows = [r for r in registry.store.feedback_for_model(name) if str(r.get("id")) not in used]
        found = feedback_examples(rows)
        out.append(
            DueModel(
                name=name, version=int(newest["version"]), new_corrections=sum(found.corrected)
            )
        )
    return out


def retrain_if_due(registry: ModelRegistry, after: int) -> list[tuple[DueModel, TrainReport | str]]:
    """Retrain every model with at least ``after`` new corrections, as ``system``.

    Args:
        registry: the store's model registry.
        after: corrections needed; 0 or less does nothing.

    Returns:
        ``(model, report)`` per model retrained; a model whose training failed gets the
        error message instead of a report.
    """
    if after <= 0:
        return []
    done: list[tuple[DueModel, Any]] = []
    for due in due_models(registry):
        if due.new_corrections < after:
            continue
        try:
            done.append((due, registry.train(due.name, source="feedback", by=None)))
        except ModelError as exc:
            done.append((due, str(exc)))
    return done


class RetrainJob(threading.Thread):
    """Checks every ``interval`` seconds whether a model is due for retraining (server job).

    Args:
        registry: the server's model registry.
        after: corrections that trigger a retrain.
        interval: seconds between checks.
    """

    def __init__(self, registry: ModelRegistry, after: int, interval: float = 300.0):
        super().__init__(name="loopgate-retrain", daemon=True)
        self.registry = registry
        self.after = after
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        """Retrain what is due until :attr:`stopped` is set; a failed round is logged."""
        while not self.stopped.wait(self.interval):
            try:
                for due, report in retrain_if_due(self.registry, self.after):
                    log.info(
                        "retrained %s after %d corrections: %s",
                        due.name,
                        due.new_corrections,
                        getattr(report, "promotion", report),
                    )
            except Exception:  # keep checking; the next round may succeed
                log.exception("automatic retraining failed")


def start_retrain_job(engine: Any, interval: float = 300.0) -> RetrainJob | None:
    """Start the server's retrain job when :data:`SETTING` is set (None when it is off,
    or set wrongly: that is logged with what to do)."""
    try:
        after = retrain_after()
    except ModelError as exc:
        log.error("automatic retraining is off: %s", exc)
        return None
    registry = getattr(engine.services, "models", None)
    if after <= 0 or registry is None:
        return None
    job = RetrainJob(registry, after, interval)
    job.start()
    return job
