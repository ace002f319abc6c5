"""The builtin text classifier: TF-IDF features, logistic regression, calibrated scores.

Everything here runs offline on CPU with scikit-learn. A workflow's classify
node trains a :class:`TextClassifier` once from a labelled file (see
:func:`load_training_file` and :func:`train_classifier`), stores it with
:meth:`TextClassifier.to_bytes` and reloads it with
:meth:`TextClassifier.from_bytes` when items arrive. Confidences are calibrated
so that a workflow can route "confidence below 0.8" to a human reviewer and
expect roughly 8 in 10 of the remaining answers to be right.
"""

from __future__ import annotations

import io
import math
import os
import re
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal

import joblib
import numpy as np
import sklearn
from joblib import parallel_config
from pydantic import BaseModel, Field
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import FeatureUnion, Pipeline

from runtime.models.calibration import Calibrator, expected_calibration_error
from runtime.models.datafiles import load_training_file
from runtime.models.errors import ModelError

__all__ = [
    "CalibrationEvidence",
    "Prediction",
    "TextClassifier",
    "TrainResult",
    "check_training_data",
    "expected_calibration_error",
    "load_training_file",
    "train_classifier",
]

Calibration = Literal["cv-temperature", "sigmoid", "isotonic", "temperature"]

#: Calibration used unless told otherwise: one temperature fitted on out-of-fold logits
#: (each row scored by a model fitted without it), then the model refitted on all rows.
#: Measured held-out ECE (docs/models.md, ``python -m bench.calibration``): shipped data
#: 0.052 (isotonic 0.098), a 3,000-row intent-like set 0.024 (0.050), synthetic 5,000 x 25
#: 0.030 (0.160), synthetic 10,000 x 30 0.019.
DEFAULT_CALIBRATION: Calibration = "cv-temperature"
_CALIBRATIONS = ("cv-temperature", "sigmoid", "isotonic", "temperature")

_SKLEARN_VERSION = re.match(r"(\d+)\.(\d+)", sklearn.__version__)
_HAS_TEMPERATURE = _SKLEARN_VERSION is not None and tuple(map(int, _SKLEARN_VERSION.groups())) >= (
    1,
    8,
)

_FORMAT = "loopgate-text-classifier"
_FORMAT_VERSION = 2
_CALIBRATION_FOLDS = 3
#: Vocabulary caps keep training time and model size bounded on big data sets.
_WORD_MAX_FEATURES = 30_000
_CHAR_MAX_FEATURES = 60_000
#: From this many texts on, n-grams seen in only one text are dropped.
_MIN_DF_FROM = 1_000


class Prediction(BaseModel):
    """The classifier's answer for one text.

    Attributes:
        label: the most probable label.
        confidence: the calibrated probability of ``label``, between 0 and 1.
        scores: the calibrated probability of every label; they sum to 1.
    """

    label: str
    confidence: float = Field(ge=0.0, le=1.0)
    scores: dict[str, float]


class CalibrationEvidence(BaseModel):
    """Out-of-fold predictions of a cross-fitted classifier: what its calibration and a
    confidence gate's ``target_error`` threshold are chosen from.

    Attributes:
        confidence: the calibrated top-label confidence of each training row, scored by
            a model fitted without it.
        correct: whether that top label was the row's label.
        temperature: the fitted temperature.
        ece_before: ECE of the out-of-fold confidences before temperature scaling.
        ece_after: ECE after (the temperature is fitted on these rows: slightly optimistic).
    """

    confidence: list[float]
    correct: list[bool]
    temperature: float
    ece_before: float
    ece_after: float

    @classmethod
    def from_cross_fit(cls, fitted: Any) -> CalibrationEvidence | None:
        """From a :class:`runtime.models.crossfit.CrossFit` (None when it had no folds)."""
        raw, calibrated = fitted.oof_proba(calibrated=False), fitted.oof_proba()
        if raw is None or calibrated is None:
            return None
        hits = calibrated.argmax(axis=1) == fitted.truth
        return cls(
            confidence=[round(float(c), 4) for c in calibrated.max(axis=1)],
            correct=[bool(h) for h in hits],
            temperature=fitted.calibrator.temperature,
            ece_before=expected_calibration_error(
                raw.max(axis=1), raw.argmax(axis=1) == fitted.truth
            ),
            ece_after=expected_calibration_error(calibrated.max(axis=1), hits),
        )


class TrainResult(BaseModel):
    """Held-out quality of a classifier trained by :func:`train_classifier`.

    The numbers are measured on a stratified held-out split, before the
    returned model is refitted on all the data.

    Attributes:
        accuracy: share of held-out texts whose predicted label is right.
        macro_f1: F1 score averaged over labels, so small labels count as much as big ones.
        ece: expected calibration error on the held-out split (0 is perfect).
        ece_uncalibrated: the same model's held-out ECE before temperature scaling
            (equal to ``ece`` for the other calibrations).
        temperature: the returned model's fitted temperature (1.0 without one).
        n_train: texts used to fit the evaluated model.
        n_test: held-out texts the metrics were measured on.
        labels: every label the model can predict, sorted.
        calibration: how the returned model's probabilities are calibrated
            (``isotonic``, ``sigmoid``, ``temperature``, or ``none`` when a
            label had a single example in a split).
        seconds: wall-clock time of the whole training, evaluation and refit.
    """

    accuracy: float
    macro_f1: float
    ece: float
    ece_uncalibrated: float | None = None
    temperature: float = 1.0
    n_train: int
    n_test: int
    labels: list[str]
    calibration: str
    seconds: float


class TextClassifier:
    """A text classifier with calibrated probabilities.

    Features are the union of word 1-2 gram and character (``char_wb``) 3-5 gram
    TF-IDF vectors with sublinear term frequency, so misspellings and order ids
    still carry signal. A multinomial logistic regression is wrapped in
    scikit-learn's ``CalibratedClassifierCV`` (3 folds, fewer when a label has
    only 2 examples) so that :meth:`predict` returns calibrated probabilities.

    Args:
        calibration: ``isotonic`` (the default, see :data:`DEFAULT_CALIBRATION`),
            ``sigmoid``, or ``temperature`` (scikit-learn 1.8 or newer).
        c: inverse regularisation strength of the logistic regression.
        n_jobs: threads for the calibration folds; ``None`` (default) means one
            per fold, at most the machine's CPU count; 1 trains strictly sequentially.

    Raises:
        ModelError: an unknown or unavailable calibration, or ``c`` not positive.
    """

    def __init__(
        self,
        *,
        calibration: Calibration = DEFAULT_CALIBRATION,
        c: float = 1.0,
        n_jobs: int | None = None,
    ) -> None:
        if calibration not in _CALIBRATIONS:
            raise ModelError(
                f"unknown calibration {calibration!r}: use one of {', '.join(_CALIBRATIONS)}"
            )
        if calibration == "temperature" and not _HAS_TEMPERATURE:
            raise ModelError(
                "calibration 'temperature' needs scikit-learn 1.8 or newer "
                f"(this is {sklearn.__version__}): use 'isotonic' or 'sigmoid'"
            )
        if not c > 0:
            raise ModelError(f"c must be a positive number, not {c!r}")
        self.calibration: Calibration = calibration
        self.c = float(c)
        self.n_jobs = n_jobs
        self._pipeline: Pipeline | None = None
        self._labels: list[str] = []
        self._calibrated_with = "none"
        self._calibrator: Calibrator | None = None
        self._evidence: CalibrationEvidence | None = None

    # ------------------------------------------------------------------ fit

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        sample_weight: Sequence[float] | None = None,
    ) -> TextClassifier:
        """Train on labelled texts, replacing anything learnt before.

        Args:
            texts: the example texts.
            labels: one label per text.
            sample_weight: a positive weight per text (None: all 1); a reviewer's
                correction may weigh more than a file row.

        Returns:
            The classifier itself, trained.

        Raises:
            ModelError: the data is empty, has fewer than 2 labels, a label with
                fewer than 2 examples, or texts without any usable word.
        """
        clean_texts, clean_labels = check_training_data(texts, labels)
        return self._fit(
            clean_texts, clean_labels, checked_weights(sample_weight, len(clean_texts))
        )

    def _fit(
        self, texts: list[str], labels: list[str], sample_weight: np.ndarray | None = None
    ) -> TextClassifier:
        """Fit without the 2-examples-per-label rule (used on held-out splits)."""
        smallest = min(Counter(labels).values())
        folds = min(_CALIBRATION_FOLDS, smallest)
        # saga scales with the number of non-zero features rather than with
        # features x labels like lbfgs does, which keeps 30 labels x 10k texts fast.
        regression = LogisticRegression(
            C=self.c, solver="saga", tol=1e-2, max_iter=1000, random_state=0
        )
        if self.calibration == "cv-temperature":
            return self._cross_fit(texts, labels, regression, sample_weight)
        if folds >= 2:
            jobs = self.n_jobs if self.n_jobs is not None else min(folds, os.cpu_count() or 1)
            model: Any = CalibratedClassifierCV(
                regression, method=self.calibration, cv=folds, n_jobs=jobs
            )
            calibrated_with: str = self.calibration
        else:
            # A label with a single example cannot be split into calibration folds;
            # logistic regression's own probabilities are the best we can do.
            model = regression
            calibrated_with = "none"
        pipeline = Pipeline([("features", _features(len(texts))), ("model", model)])
        try:
            # The saga solver releases the GIL, so calibration folds run in threads:
            # no worker processes to start and no copies of the feature matrix.
            with parallel_config(backend="threading"):
                pipeline.fit(texts, labels, model__sample_weight=sample_weight)
        except ValueError as exc:
            raise _fit_error(exc) from exc
        self._pipeline = pipeline
        self._labels = [str(label) for label in pipeline.classes_]
        self._calibrated_with = calibrated_with
        self._calibrator = None
        self._evidence = None
        return self

    def _cross_fit(
        self,
        texts: list[str],
        labels: list[str],
        regression: LogisticRegression,
        sample_weight: np.ndarray | None,
    ) -> TextClassifier:
        """Cross-fitted temperature scaling (see :mod:`runtime.models.crossfit`)."""
        from runtime.models.crossfit import cross_fit

        # The same rows in any order give the same model (folds, solver): a retrain and
        # the version it replaces are then compared on their data, not on row order.
        order = sorted(range(len(texts)), key=lambda i: (texts[i], labels[i]))
        texts, labels = [texts[i] for i in order], [labels[i] for i in order]
        sample_weight = None if sample_weight is None else np.asarray(sample_weight)[order]
        features = _features(len(texts))
        try:
            # The vocabulary and IDF are unsupervised: fitted once on every text.
            matrix = features.fit_transform(texts)
            fitted = cross_fit(
                regression,
                matrix,
                np.asarray(labels),
                sample_weight=sample_weight,
                n_jobs=self.n_jobs,
            )
        except ValueError as exc:
            raise _fit_error(exc) from exc
        self._pipeline = Pipeline([("features", features), ("model", fitted.model)])
        self._labels = [str(label) for label in fitted.model.classes_]
        self._calibrator = fitted.calibrator
        self._calibrated_with = "cv-temperature" if fitted.folds else "none"
        self._evidence = CalibrationEvidence.from_cross_fit(fitted)
        return self

    # -------------------------------------------------------------- predict

    @property
    def labels(self) -> list[str]:
        """Every label the classifier can predict, sorted; empty before training."""
        return list(self._labels)

    @property
    def is_fitted(self) -> bool:
        """Whether the classifier has been trained or loaded."""
        return self._pipeline is not None

    @property
    def temperature(self) -> float:
        """The fitted temperature (1.0 unless calibrated with ``cv-temperature``)."""
        return self._calibrator.temperature if self._calibrator is not None else 1.0

    @property
    def evidence(self) -> CalibrationEvidence | None:
        """Out-of-fold predictions of the last :meth:`fit` (None for other calibrations
        and for loaded classifiers)."""
        return self._evidence

    @property
    def calibrated_with(self) -> str:
        """The calibration actually used: ``isotonic``, ``sigmoid``, ``temperature`` or ``none``."""
        return self._calibrated_with

    def predict_proba(self, texts: Sequence[str], *, calibrated: bool = True) -> np.ndarray:
        """Return calibrated probabilities, one row per text, columns in :attr:`labels` order.

        Args:
            texts: the texts to classify.
            calibrated: False gives the probabilities before temperature scaling (to
                measure what the calibration changed; ``cv-temperature`` only).

        Returns:
            An array of shape ``(len(texts), len(labels))`` whose rows sum to 1.

        Raises:
            ModelError: the classifier is not trained, or ``texts`` is not a list of strings.
        """
        if self._pipeline is None:
            raise ModelError(
                "the classifier is not trained: call fit() or train_classifier(), "
                "or load one with TextClassifier.from_bytes()"
            )
        clean = _check_texts(texts)
        if not clean:
            return np.zeros((0, len(self._labels)))
        if self.calibration == "cv-temperature":
            from runtime.models.crossfit import logits_of

            features = self._pipeline.named_steps["features"].transform(clean)
            logits = logits_of(self._pipeline.named_steps["model"], features)
            return (self._calibrator or Calibrator()).apply(logits, calibrated=calibrated)
        proba = np.asarray(self._pipeline.predict_proba(clean), dtype=float)
        # Calibrators are normalised already; re-normalise to remove float drift.
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """Classify texts.

        Args:
            texts: the texts to classify.

        Returns:
            One :class:`Prediction` per text, in order.

        Raises:
            ModelError: the classifier is not trained, or ``texts`` is not a list of strings.
        """
        proba = self.predict_proba(texts)
        predictions = []
        for row in proba:
            best = int(np.argmax(row))
            scores = {label: float(p) for label, p in zip(self._labels, row, strict=True)}
            predictions.append(
                Prediction(
                    label=self._labels[best],
                    confidence=min(1.0, max(0.0, float(row[best]))),
                    scores=scores,
                )
            )
        return predictions

    # ---------------------------------------------------------- persistence

    def to_bytes(self) -> bytes:
        """Serialise the trained classifier (joblib, compressed).

        Returns:
            Bytes that :meth:`from_bytes` turns back into an identical classifier.

        Raises:
            ModelError: the classifier is not trained.
        """
        if self._pipeline is None:
            raise ModelError("cannot save a classifier that is not trained: call fit() first")
        payload = {
            "format": _FORMAT,
            "version": _FORMAT_VERSION,
            "calibration": self.calibration,
            "calibrated_with": self._calibrated_with,
            "c": self.c,
            "labels": self._labels,
            "pipeline": self._pipeline,
            "calibrator": None if self._calibrator is None else self._calibrator.to_dict(),
        }
        buffer = io.BytesIO()
        joblib.dump(payload, buffer, compress=3)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> TextClassifier:
        """Load a classifier saved by :meth:`to_bytes`.

        The bytes are unpickled, so only load bytes that Loopgate itself wrote
        (for example from its own store), never bytes a user uploaded.

        Args:
            data: the bytes returned by :meth:`to_bytes`.

        Returns:
            The trained classifier.

        Raises:
            ModelError: the bytes are not a saved Loopgate classifier, or were
                written by a newer, incompatible version.
        """
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ModelError(f"expected bytes from TextClassifier.to_bytes(), got {type(data)}")
        try:
            payload = joblib.load(io.BytesIO(bytes(data)))
        except Exception as exc:
            raise ModelError(f"these bytes are not a saved text classifier: {exc}") from exc
        if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
            raise ModelError("these bytes are not a saved Loopgate text classifier")
        if payload.get("version") not in (1, _FORMAT_VERSION):
            raise ModelError(
                f"this classifier was saved in format version {payload.get('version')}, "
                f"but this Loopgate reads versions 1 to {_FORMAT_VERSION}: train it again"
            )
        # Version 1 (CalibratedClassifierCV pipelines) has no temperature; its pipeline
        # predicts calibrated probabilities by itself.
        classifier = cls(calibration=payload["calibration"], c=payload["c"])
        classifier._pipeline = payload["pipeline"]
        classifier._labels = list(payload["labels"])
        classifier._calibrated_with = payload["calibrated_with"]
        if payload.get("calibrator"):
            classifier._calibrator = Calibrator.from_dict(payload["calibrator"])
        return classifier

    def __repr__(self) -> str:
        state = f"labels={self._labels!r}" if self.is_fitted else "not trained"
        return f"TextClassifier({state}, calibration={self._calibrated_with!r})"


def checked_weights(sample_weight: Sequence[float] | None, n: int) -> np.ndarray | None:
    """Checked sample weights: None, or ``n`` positive finite numbers."""
    if sample_weight is None:
        return None
    weights = np.asarray(list(sample_weight), dtype=float)
    if weights.shape != (n,):
        raise ModelError(f"got {weights.size} sample weights for {n} texts: give one per text")
    if not np.isfinite(weights).all() or (weights <= 0).any():
        raise ModelError("sample weights must be positive numbers")
    return weights


def _fit_error(exc: ValueError) -> ModelError:
    """A scikit-learn fit error as a message a person can act on."""
    if "empty vocabulary" in str(exc):
        return ModelError(
            "the training texts contain no usable words (are they all empty or "
            "single characters?): give texts with real content"
        )
    return ModelError(f"training the classifier failed: {exc}")


def _features(n_texts: int) -> FeatureUnion:
    """Word 1-2 gram and char_wb 3-5 gram TF-IDF, both with sublinear tf."""
    min_df = 2 if n_texts >= _MIN_DF_FROM else 1
    return FeatureUnion(
        [
            (
                "word",
                TfidfVectorizer(
                    analyzer="word",
                    ngram_range=(1, 2),
                    sublinear_tf=True,
                    min_df=min_df,
                    max_features=_WORD_MAX_FEATURES,
                    dtype=np.float32,
                ),
            ),
            (
                "char",
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=(3, 5),
                    sublinear_tf=True,
                    min_df=min_df,
                    max_features=_CHAR_MAX_FEATURES,
                    dtype=np.float32,
                ),
            ),
        ]
    )


# ---------------------------------------------------------------- validation


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str | bytes):
        raise ModelError("expected a list of texts, got a single string: wrap it in a list")
    clean = list(texts)
    for i, text in enumerate(clean):
        if not isinstance(text, str):
            raise ModelError(f"text #{i + 1} is {type(text).__name__}, not a string")
    return clean


def check_training_data(texts: Sequence[str], labels: Sequence[Any]) -> tuple[list[str], list[str]]:
    """Validate labelled data and return it as lists of strings.

    Args:
        texts: the example texts.
        labels: one label per text; non-string labels are turned into strings.

    Returns:
        ``(texts, labels)`` as lists.

    Raises:
        ModelError: empty data, lengths that differ, empty labels, fewer than 2
            distinct labels, or a label with fewer than 2 examples.
    """
    clean_texts = _check_texts(texts)
    if isinstance(labels, str | bytes):
        raise ModelError("expected a list of labels, got a single string")
    raw_labels = list(labels)
    if len(clean_texts) != len(raw_labels):
        raise ModelError(
            f"got {len(clean_texts)} texts but {len(raw_labels)} labels: give one label per text"
        )
    if not clean_texts:
        raise ModelError(
            "the training data is empty: give at least 2 examples for each of at least 2 labels"
        )
    clean_labels = []
    for i, label in enumerate(raw_labels):
        if label is None or (isinstance(label, float) and math.isnan(label)):
            raise ModelError(f"example #{i + 1} has no label: give every example a label")
        text = str(label).strip()
        if not text:
            raise ModelError(f"example #{i + 1} has an empty label: give every example a label")
        clean_labels.append(text)
    counts = Counter(clean_labels)
    if len(counts) < 2:
        raise ModelError(
            f"the training data has only one label ({next(iter(counts))!r}): a classifier "
            "needs examples of at least 2 different labels"
        )
    scarce = sorted(label for label, n in counts.items() if n < 2)
    if scarce:
        names = ", ".join(repr(label) for label in scarce)
        which = "label" if len(scarce) == 1 else "labels"
        raise ModelError(
            f"{which} {names} {'has' if len(scarce) == 1 else 'have'} only 1 example: "
            "add at least one more example of each label (10 or more work much better), "
            "or remove those examples"
        )
    return clean_texts, clean_labels


# ------------------------------------------------------------------ metrics


# ----------------------------------------------------------------- training


def train_classifier(
    texts: Sequence[str],
    labels: Sequence[Any],
    *,
    test_size: float = 0.2,
    seed: int = 0,
    calibration: Calibration = DEFAULT_CALIBRATION,
    n_jobs: int | None = None,
    sample_weight: Sequence[float] | None = None,
) -> tuple[TextClassifier, TrainResult]:
    """Train a classifier, measure it on held-out data, then refit on everything.

    A stratified split keeps ``test_size`` of the data aside (at least one
    example per label), a classifier is fitted on the rest and measured on it,
    and the returned classifier is then fitted on all the data.

    Args:
        texts: the example texts.
        labels: one label per text.
        test_size: share of the data held out for measuring, between 0 and 1.
        seed: seed of the split, for reproducible metrics.
        calibration: ``isotonic`` (default), ``sigmoid`` or ``temperature``.
        n_jobs: threads for the calibration folds; ``None`` means one per fold,
            at most the machine's CPU count.
        sample_weight: a positive weight per text (None: all 1).

    Returns:
        ``(classifier, metrics)``: the classifier trained on all the data and
        its held-out :class:`TrainResult`.

    Raises:
        ModelError: the data is empty, has fewer than 2 labels, a label with
            fewer than 2 examples, or ``test_size`` is not between 0 and 1.
    """
    started = time.perf_counter()
    clean_texts, clean_labels = check_training_data(texts, labels)
    weights = checked_weights(sample_weight, len(clean_texts))
    if not 0.0 < test_size < 1.0:
        raise ModelError(f"test_size must be between 0 and 1 (exclusive), not {test_size}")
    n = len(clean_texts)
    n_labels = len(set(clean_labels))
    # Every label needs a place on both sides of a stratified split.
    n_test = min(max(round(test_size * n), n_labels), n - n_labels)
    index = np.arange(n)
    train_i, test_i = train_test_split(
        index, test_size=n_test, stratify=clean_labels, random_state=seed
    )
    train_x, train_y = [clean_texts[i] for i in train_i], [clean_labels[i] for i in train_i]
    test_x, test_y = [clean_texts[i] for i in test_i], [clean_labels[i] for i in test_i]
    evaluated = TextClassifier(calibration=calibration, n_jobs=n_jobs)._fit(
        train_x, train_y, None if weights is None else weights[train_i]
    )
    proba = evaluated.predict_proba(test_x)
    raw = evaluated.predict_proba(test_x, calibrated=False)
    label_array = np.asarray(evaluated.labels)
    predicted = label_array[proba.argmax(axis=1)]
    truth = np.asarray(test_y)
    accuracy = float(accuracy_score(truth, predicted))
    macro_f1 = float(f1_score(truth, predicted, average="macro", zero_division=0))
    ece = expected_calibration_error(proba.max(axis=1), predicted == truth)
    raw_hits = label_array[raw.argmax(axis=1)] == truth

    final = TextClassifier(calibration=calibration, n_jobs=n_jobs)._fit(
        clean_texts, clean_labels, weights
    )
    result = TrainResult(
        accuracy=accuracy,
        macro_f1=macro_f1,
        ece=ece,
        ece_uncalibrated=expected_calibration_error(raw.max(axis=1), raw_hits),
        temperature=final.temperature,
        n_train=len(train_x),
        n_test=len(test_x),
        labels=final.labels,
        calibration=final.calibrated_with,
        seconds=time.perf_counter() - started,
    )
    return final, result
