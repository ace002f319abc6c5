"""Calibration helpers shared by Loopgate's classifiers: temperature scaling fitted on
cross-fitted (out-of-fold) logits, expected calibration error and a reliability table.

Any classifier that can produce logits (unnormalised log-probabilities) for rows it was
not fitted on can be calibrated here: :func:`fit_temperature` finds the temperature ``T``
that minimises the negative log-likelihood of ``softmax(logits / T)``, and
:func:`softmax` applies it. Only one number is fitted, so a few hundred held-out rows are
enough and the fit cannot overfit the way per-label isotonic calibrators do.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import minimize_scalar

from runtime.models.errors import ModelError

#: Temperatures are searched between these bounds (log scale).
_T_MIN, _T_MAX = 0.01, 100.0


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of ``logits / temperature`` (numerically stable).

    Args:
        logits: shape ``(n_rows, n_labels)``.
        temperature: a positive number; below 1 sharpens, above 1 flattens.

    Returns:
        Probabilities of the same shape whose rows sum to 1.
    """
    scaled = np.asarray(logits, dtype=float) / float(temperature)
    scaled = scaled - scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


def _nll(logits: np.ndarray, truth: np.ndarray, temperature: float) -> float:
    scaled = logits / temperature
    scaled = scaled - scaled.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(scaled).sum(axis=1))
    return float((log_norm - scaled[np.arange(len(truth)), truth]).mean())


def fit_temperature(logits: np.ndarray, truth: Sequence[int] | np.ndarray) -> float:
    """The temperature minimising the negative log-likelihood of the true labels.

    Args:
        logits: out-of-fold logits, shape ``(n_rows, n_labels)``: each row scored by a
            model that did not see it.
        truth: the index of each row's true label (a column of ``logits``).

    Returns:
        The temperature, between 0.01 and 100.

    Raises:
        ModelError: empty or mismatched inputs, or a label index out of range.
    """
    values = np.asarray(logits, dtype=float)
    labels = np.asarray(truth, dtype=int).ravel()
    if values.ndim != 2 or values.shape[0] == 0:
        raise ModelError("temperature scaling needs a non-empty 2-D array of logits")
    if values.shape[0] != labels.size:
        raise ModelError(f"got {values.shape[0]} rows of logits but {labels.size} labels")
    if labels.min() < 0 or labels.max() >= values.shape[1]:
        raise ModelError("a label index is outside the logits' columns")
    result = minimize_scalar(
        lambda log_t: _nll(values, labels, float(np.exp(log_t))),
        bounds=(np.log(_T_MIN), np.log(_T_MAX)),
        method="bounded",
        options={"xatol": 1e-4},
    )
    return float(np.exp(result.x))


def expected_calibration_error(
    confidences: Sequence[float] | np.ndarray,
    correct: Sequence[bool] | np.ndarray,
    n_bins: int = 10,
) -> float:
    """Expected calibration error of top-label confidences.

    The range [0, 1] is cut into ``n_bins`` equal-width bins; bin ``i`` holds
    confidences in ``[i / n_bins, (i + 1) / n_bins)`` and the last bin also
    holds 1.0. ECE is the average over bins of ``|accuracy - mean confidence|``
    weighted by the share of predictions in the bin.

    Args:
        confidences: the confidence of each prediction, between 0 and 1.
        correct: whether each prediction was right.
        n_bins: number of bins, at least 1.

    Returns:
        The ECE, between 0 (perfectly calibrated) and 1.

    Raises:
        ModelError: empty or mismatched inputs, confidences outside [0, 1], or
            ``n_bins`` below 1.
    """
    conf, hits = _checked(confidences, correct, n_bins)
    bins = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in np.unique(bins):
        mask = bins == b
        ece += mask.mean() * abs(hits[mask].mean() - conf[mask].mean())
    return float(ece)


def reliability(
    confidences: Sequence[float] | np.ndarray,
    correct: Sequence[bool] | np.ndarray,
    n_bins: int = 10,
) -> list[dict[str, float]]:
    """The reliability table behind :func:`expected_calibration_error`.

    Returns:
        One row per non-empty bin, lowest first: ``low``, ``high`` (the bin's bounds),
        ``n`` (predictions in it), ``confidence`` (their mean) and ``accuracy``.

    Raises:
        ModelError: as :func:`expected_calibration_error`.
    """
    conf, hits = _checked(confidences, correct, n_bins)
    bins = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    rows = []
    for b in np.unique(bins):
        mask = bins == b
        rows.append(
            {
                "low": b / n_bins,
                "high": (b + 1) / n_bins,
                "n": int(mask.sum()),
                "confidence": float(conf[mask].mean()),
                "accuracy": float(hits[mask].mean()),
            }
        )
    return rows


def _checked(
    confidences: Sequence[float] | np.ndarray, correct: Sequence[bool] | np.ndarray, n_bins: int
) -> tuple[np.ndarray, np.ndarray]:
    conf = np.asarray(confidences, dtype=float).ravel()
    hits = np.asarray(correct, dtype=float).ravel()
    if n_bins < 1:
        raise ModelError(f"n_bins must be at least 1, not {n_bins}")
    if conf.size == 0:
        raise ModelError("cannot compute a calibration error without any predictions")
    if conf.size != hits.size:
        raise ModelError(f"got {conf.size} confidences but {hits.size} correctness flags")
    if np.isnan(conf).any() or conf.min() < 0.0 or conf.max() > 1.0:
        raise ModelError("confidences must be numbers between 0 and 1")
    return conf, hits


class Calibrator:
    """Temperature scaling, then a monotone map of the top label's probability.

    The temperature fixes most of a linear model's over- or under-confidence; the monotone
    (isotonic) map, fitted on the same out-of-fold rows, fixes the shape a single number
    cannot (text models tend to be under-confident in the middle and over-confident near
    1). The other labels' probabilities are rescaled so a row still sums to 1, and the top
    label stays on top.

    Args:
        temperature: divides the logits.
        knots_x: increasing top-label probabilities after temperature scaling.
        knots_y: the calibrated probability at each knot (non-decreasing); between knots
            the map is linear, outside them flat. Empty: no map (temperature only).
    """

    def __init__(
        self,
        temperature: float = 1.0,
        knots_x: Sequence[float] = (),
        knots_y: Sequence[float] = (),
    ) -> None:
        self.temperature = float(temperature)
        self.knots_x = np.asarray(knots_x, dtype=float)
        self.knots_y = np.asarray(knots_y, dtype=float)

    @classmethod
    def fit(cls, logits: np.ndarray, truth: Sequence[int] | np.ndarray) -> Calibrator:
        """Fit the temperature, then the top-label map, on out-of-fold logits.

        Raises:
            ModelError: as :func:`fit_temperature`.
        """
        from sklearn.isotonic import IsotonicRegression

        temperature = fit_temperature(logits, truth)
        proba = softmax(logits, temperature)
        hits = proba.argmax(axis=1) == np.asarray(truth, dtype=int).ravel()
        # Never quite 0 or 1: a block of n rows all right says "at most 1 in n+1 wrong",
        # not "never wrong" (a rule-of-succession margin on the whole sample).
        margin = 1.0 / (len(hits) + 2)
        iso = IsotonicRegression(y_min=margin, y_max=1.0 - margin, out_of_bounds="clip")
        iso.fit(proba.max(axis=1), hits.astype(float))
        return cls(temperature, iso.X_thresholds_, iso.y_thresholds_)

    def apply(self, logits: np.ndarray, *, calibrated: bool = True) -> np.ndarray:
        """Calibrated probabilities for logits (``calibrated=False``: plain softmax)."""
        if not calibrated:
            return softmax(logits, 1.0)
        proba = softmax(logits, self.temperature)
        if self.knots_x.size < 2:
            return proba
        rows = np.arange(proba.shape[0])
        best = proba.argmax(axis=1)
        top = proba[rows, best]
        second = np.partition(proba, -2, axis=1)[:, -2] if proba.shape[1] > 1 else 0 * top
        mapped = np.interp(top, self.knots_x, self.knots_y)
        # Never below what keeps the top label on top once the others are rescaled.
        floor = second / np.maximum(1.0 - top + second, 1e-12) + 1e-9
        mapped = np.clip(np.maximum(mapped, floor), 0.0, 1.0)
        rest = np.where(top < 1.0, (1.0 - mapped) / np.maximum(1.0 - top, 1e-12), 0.0)
        out = proba * rest[:, None]
        out[rows, best] = mapped
        return out / out.sum(axis=1, keepdims=True)

    def to_dict(self) -> dict[str, object]:
        """A JSON-able form (see :meth:`from_dict`)."""
        return {
            "temperature": self.temperature,
            "knots_x": self.knots_x.tolist(),
            "knots_y": self.knots_y.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Calibrator:
        """The calibrator :meth:`to_dict` described."""
        return cls(
            float(data.get("temperature", 1.0)),  # type: ignore[arg-type]
            data.get("knots_x") or (),  # type: ignore[arg-type]
            data.get("knots_y") or (),  # type: ignore[arg-type]
        )
