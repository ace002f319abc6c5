"""The builtin, offline model provider's machine-learning core.

Three capabilities, all CPU-only and without network access:

* **classify** — :class:`TextClassifier` (TF-IDF + calibrated logistic
  regression), trained with :func:`train_classifier` from a file read by
  :func:`load_training_file`; predictions carry calibrated confidences.
* **extract** — :func:`extract_fields` pulls amounts, e-mails, order ids,
  dates, phone numbers, invoice numbers, IBANs and names out of free text
  with rules, each with a confidence.
* **generate** — :func:`render_text` fills a Jinja2 template in a sandbox.

Everything raises :class:`ModelError` with a message meant for the person
building the workflow. The classifier names are loaded on first use, so
importing this package for extraction or templates does not import
scikit-learn.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from runtime.models.errors import ModelError
from runtime.models.extractor import SUPPORTED_FIELDS, FieldValue, extract_fields
from runtime.models.generator import render_text

if TYPE_CHECKING:
    from runtime.models.classifier import (
        DEFAULT_CALIBRATION,
        Prediction,
        TextClassifier,
        TrainResult,
        check_training_data,
        expected_calibration_error,
        load_training_file,
        train_classifier,
    )

_LAZY = {
    "DEFAULT_CALIBRATION",
    "Prediction",
    "TextClassifier",
    "TrainResult",
    "check_training_data",
    "expected_calibration_error",
    "load_training_file",
    "train_classifier",
}

__all__ = [
    "DEFAULT_CALIBRATION",
    "SUPPORTED_FIELDS",
    "FieldValue",
    "ModelError",
    "Prediction",
    "TextClassifier",
    "TrainResult",
    "check_training_data",
    "expected_calibration_error",
    "extract_fields",
    "load_training_file",
    "render_text",
    "train_classifier",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module("runtime.models.classifier"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
