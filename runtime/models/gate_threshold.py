"""Choosing a confidence gate's threshold from a target error instead of by hand.

A gate with ``target_error: 0.02`` passes an item without a person only when the chosen
threshold keeps the error among auto-passed items at or below 2 %. The threshold is the
lowest confidence ``t`` for which an *upper* confidence bound (Wilson score, one-sided
95 %) of the error rate among rows with confidence >= ``t`` stays at or below the
target, so a handful of lucky rows cannot promise more than they show. Cuts (a grid of
0.005) are tested from the top down and the search stops at the first that misses the
target (fixed-sequence testing: a chance dip further down does not count, and the 95 %
holds however many cuts are tried).

The rows come from the model version's out-of-fold predictions (every training row scored
by a model fitted without it; stored with the version, see
:class:`runtime.models.classifier.CalibrationEvidence`) or, once a gate has enough of
them, from reviewers' decisions at the gate (a person's verdict on the model's label).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel

from runtime.models.errors import ModelError

#: One-sided 95 % normal quantile for the Wilson upper bound.
Z_95 = 1.6449
#: Decided reviews with a recorded verdict a gate needs before its threshold is chosen
#: from them instead of from the model's calibration rows.
MIN_DECISIONS = 200
#: Candidate thresholds are 0, 1/GRID_STEPS, ..., 1.
GRID_STEPS = 200
#: See :func:`choose_threshold`: misses at the top are skipped until a cut passes this
#: many times the fewest rows that could meet the target.
WARMUP = 3
#: Targets whose thresholds are recorded with every model version (shown by the CLI).
RECORDED_TARGETS = (0.01, 0.02, 0.05, 0.1)


class ChosenThreshold(BaseModel):
    """A threshold chosen for a target error, and the evidence behind it.

    Attributes:
        target_error: the error rate to stay at or below among auto-passed items.
        threshold: the lowest threshold meeting it; None when none does (every item then
            goes to a person).
        source: ``calibration`` (the model version's out-of-fold rows) or ``decisions``
            (reviewers' verdicts at the gate).
        n_rows: rows the choice rests on.
        n_passed: rows at or above the threshold (what would pass).
        errors: wrong rows among them.
        estimated_error: ``errors / n_passed`` (None when nothing passes).
        upper_bound: the Wilson upper bound of that error rate (what met the target).
        automation: share of the rows that would pass without a person.
    """

    target_error: float
    threshold: float | None
    source: str
    n_rows: int
    n_passed: int = 0
    errors: int = 0
    estimated_error: float | None = None
    upper_bound: float | None = None
    automation: float = 0.0

    def summary(self) -> str:
        """One line for people: the threshold and what it rests on."""
        if self.threshold is None:
            return (
                f"no threshold keeps the error under {self.target_error:.1%} "
                f"({self.source}, {self.n_rows} rows): every item goes to review"
            )
        return (
            f"threshold {self.threshold:.3f} for target error {self.target_error:.1%}: "
            f"{self.errors} wrong of {self.n_passed} passed ({self.estimated_error:.1%}, "
            f"at most {self.upper_bound:.1%} at 95 %), {self.automation:.0%} automated; "
            f"from {self.source} ({self.n_rows} rows)"
        )


def wilson_upper(errors: int | np.ndarray, n: int | np.ndarray, z: float = Z_95) -> np.ndarray:
    """One-sided Wilson score upper bound of an error rate (1.0 where ``n`` is 0)."""
    e = np.asarray(errors, dtype=float)
    m = np.asarray(n, dtype=float)
    safe = np.maximum(m, 1.0)
    p = e / safe
    denom = 1.0 + z * z / safe
    centre = p + z * z / (2 * safe)
    spread = z * np.sqrt(p * (1 - p) / safe + z * z / (4 * safe * safe))
    return np.where(m > 0, np.minimum(1.0, (centre + spread) / denom), 1.0)


def choose_threshold(
    confidences: Sequence[float] | np.ndarray,
    correct: Sequence[bool] | np.ndarray,
    target_error: float,
    *,
    source: str = "calibration",
    weights: Sequence[int] | np.ndarray | None = None,
) -> ChosenThreshold:
    """The lowest threshold whose error among rows at or above it is, with 95 %
    confidence, at most ``target_error``.

    Args:
        confidences: each row's confidence.
        correct: whether each row's label was right.
        target_error: the error rate to meet, between 0 and 1 (exclusive).
        source: what the rows are, recorded with the choice.
        weights: how many items each row stands for (grouped rows); None: 1 each.

    Returns:
        The choice; ``threshold`` is None when no threshold meets the target.

    Raises:
        ModelError: a target outside (0, 1), or mismatched inputs.
    """
    if not isinstance(target_error, int | float) or not 0.0 < float(target_error) < 1.0:
        raise ModelError(f"target_error must be between 0 and 1 (exclusive), not {target_error!r}")
    conf = np.asarray(confidences, dtype=float).ravel()
    hits = np.asarray(correct, dtype=bool).ravel()
    count = np.ones(conf.size, dtype=int) if weights is None else np.asarray(weights, int).ravel()
    if not conf.size == hits.size == count.size:
        raise ModelError(
            f"got {conf.size} confidences, {hits.size} correctness flags and "
            f"{count.size} weights: give one of each per row"
        )
    n_rows = int(count.sum())
    if n_rows == 0:
        return ChosenThreshold(target_error=target_error, threshold=None, source=source, n_rows=0)
    order = np.argsort(conf, kind="stable")
    conf, hits, count = conf[order], hits[order], count[order]
    # Cuts on a grid of 0.005 from the top down; each passes the rows at or above it.
    grid = np.round(np.arange(GRID_STEPS, -1, -1) / GRID_STEPS, 4)
    start = np.searchsorted(conf, grid, side="left")  # first row passed at each cut
    total_wrong = np.concatenate([[0], np.cumsum(np.where(hits, 0, count))])
    total = np.concatenate([[0], np.cumsum(count)])
    passed = total[-1] - total[start]
    wrong = total_wrong[-1] - total_wrong[start]
    upper = wilson_upper(wrong, passed)
    # Fixed-sequence testing: go down from the first cut with enough rows to meet the
    # target at all, while the bound meets it; stop at the first cut that does not.
    # Testing cuts in a fixed order keeps the 95 % guarantee however many are tried.
    # Near the top a cut passes few rows, and one unlucky error there says little: misses
    # before a cut passes WARMUP x the fewest rows that could meet the target are skipped.
    enough = passed >= _min_rows(target_error)
    warm = passed >= WARMUP * _min_rows(target_error)
    chosen = None
    for i in np.flatnonzero(enough):
        if upper[i] > target_error:
            if warm[i] or chosen is not None:
                break
            continue
        chosen = int(i)
    if chosen is None or passed[chosen] == 0:
        return ChosenThreshold(
            target_error=target_error, threshold=None, source=source, n_rows=n_rows
        )
    i = chosen
    cut = float(conf[start[i]])  # the lowest confidence passed: where the data ends
    return ChosenThreshold(
        target_error=target_error,
        threshold=round(cut, 4),
        source=source,
        n_rows=n_rows,
        n_passed=int(passed[i]),
        errors=int(wrong[i]),
        estimated_error=float(wrong[i] / passed[i]),
        upper_bound=float(upper[i]),
        automation=float(passed[i] / n_rows),
    )


def _min_rows(target_error: float) -> int:
    """Fewest rows whose bound can meet the target with no error at all (z^2 (1-t) / t)."""
    return math.ceil(Z_95 * Z_95 * (1 - target_error) / target_error)


def choose_from_decisions(
    judged: Sequence[dict], target_error: float, *, min_decisions: int = MIN_DECISIONS
) -> ChosenThreshold | None:
    """A threshold from reviewers' decisions at a gate, or None with too few of them.

    Args:
        judged: rows of ``Store.judged_confidences``: ``milli`` (confidence x 1000),
            ``n`` (decided reviews) and ``overridden`` (of those, rejected or corrected).
        target_error: the error rate to meet.
        min_decisions: decisions needed before they are used.
    """
    rows = [r for r in judged if r.get("milli") is not None and r.get("n")]
    total = sum(int(r["n"]) for r in rows)
    if total < min_decisions:
        return None
    conf, correct, weights = [], [], []
    for r in rows:
        bad, n = int(r.get("overridden") or 0), int(r["n"])
        for flag, k in ((True, n - bad), (False, bad)):
            if k:
                conf.append(r["milli"] / 1000)
                correct.append(flag)
                weights.append(k)
    return choose_threshold(conf, correct, target_error, source="decisions", weights=weights)


def recorded_thresholds(confidence: Sequence[float], correct: Sequence[bool]) -> list[dict]:
    """The choices for :data:`RECORDED_TARGETS`, as stored in a model version's metrics."""
    return [
        choose_threshold(confidence, correct, target).model_dump() for target in RECORDED_TARGETS
    ]


def is_finite_target(value: float) -> bool:
    """Whether ``value`` is a usable target error (a number strictly between 0 and 1)."""
    return isinstance(value, int | float) and math.isfinite(value) and 0.0 < value < 1.0


def preview(
    registry: object, workflow_id: str, node_id: str, target: float, checked: dict | None
) -> str:
    """What a ``target_error`` gate would apply now, in one line for the Builder.

    Args:
        registry: the model registry (``engine.services.models``), or None.
        workflow_id, node_id: the gate.
        target: its ``target_error``.
        checked: the ``type`` and ``params`` of the node it checks (its ``of``), or None.

    Returns:
        The chosen threshold and its evidence, or why none can be shown.
    """
    from runtime.models.shipped import SHIPPED_MODEL

    if checked is None or checked.get("type") != "ai_classify":
        return "target_error needs an ai_classify node in `of`; use a threshold otherwise"
    params = checked.get("params") or {}
    if params.get("provider", "builtin") != "builtin":
        return "target_error needs the builtin classifier; use a threshold for other providers"
    name = params.get("model") or SHIPPED_MODEL
    if registry is None:
        return "no model store: the threshold is chosen when a run reaches the gate"
    try:
        version = registry.default_version(name)  # type: ignore[attr-defined]
        if version is None:
            return f"model {name} has no version yet: the threshold is chosen once it is trained"
        choice = registry.gate_threshold(  # type: ignore[attr-defined]
            name, version, target=target, workflow_id=workflow_id, node_id=node_id
        )
    except ModelError as exc:
        return str(exc)
    return f"{name} v{version}: {choice.summary()}"


def target_error_warnings(spec: object, registry: object) -> list[tuple[str, str]]:
    """For ``loopgate validate``: each ``target_error`` gate whose model version (the
    default of the model it checks) has no threshold meeting the target.

    Args:
        spec: a parsed workflow (``WorkflowSpec``).
        registry: the store's model registry.

    Returns:
        ``(node id, message)`` pairs; empty when every such gate has a threshold.
    """
    nodes = {n.id: n for n in getattr(spec, "nodes", [])}
    out = []
    for node in nodes.values():
        target = (node.params or {}).get("target_error") if node.type == "confidence_gate" else None
        if not isinstance(target, int | float) or not is_finite_target(float(target)):
            continue
        checked = nodes.get((node.params or {}).get("of"))
        line = preview(
            registry,
            str(getattr(spec, "id", "")),
            node.id,
            float(target),
            None if checked is None else {"type": checked.type, "params": checked.params},
        )
        if "every item goes to review" in line:
            out.append((node.id, line))
    return out
