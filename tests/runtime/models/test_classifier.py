"""The builtin text classifier: quality on the shipped data, calibration, persistence, errors."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import joblib
import numpy as np
import pytest

import runtime.models.classifier as classifier_module
from bench.synthetic_text import synthetic_data
from runtime.models import (
    ModelError,
    Prediction,
    TextClassifier,
    expected_calibration_error,
    load_training_file,
    train_classifier,
)

DATA = Path(__file__).resolve().parents[3] / "examples" / "data" / "support_messages.csv"
LABELS = ["account", "billing_dispute", "refund", "shipping", "technical"]


@pytest.fixture(scope="module")
def shipped() -> tuple[list[str], list[str]]:
    return load_training_file(DATA)


@pytest.fixture(scope="module")
def trained(shipped):
    texts, labels = shipped
    return train_classifier(texts, labels, seed=0)


# ------------------------------------------------------------ shipped data


def test_shipped_data_is_balanced_and_big_enough(shipped) -> None:
    texts, labels = shipped
    assert len(texts) >= 360
    assert sorted(set(labels)) == LABELS
    assert min(labels.count(label) for label in LABELS) >= 70
    assert len(set(texts)) == len(texts)


def test_shipped_data_trains_to_good_held_out_accuracy(trained) -> None:
    _, result = trained
    assert result.accuracy > 0.8
    assert result.macro_f1 > 0.8
    assert 0.0 <= result.ece < 0.2
    assert result.n_train + result.n_test == 400
    assert result.n_test == 80
    assert result.labels == LABELS
    assert result.calibration == "cv-temperature"
    # A classifier that scores 100% means the data set is too easy to be a useful demo.
    assert result.accuracy < 1.0


def test_predictions_are_calibrated_distributions(trained) -> None:
    classifier, _ = trained
    texts = [
        "Where is my parcel? The tracking number hasn't changed for a week.",
        "I was charged twice for the same subscription this month, please reverse it.",
        "The app crashes as soon as I open the settings page on my Android phone.",
        "I forgot my password and the reset link never arrives.",
        "I sent the blender back two weeks ago and I still haven't got my money back.",
    ]
    predictions = classifier.predict(texts)
    assert len(predictions) == len(texts)
    for prediction in predictions:
        assert isinstance(prediction, Prediction)
        assert set(prediction.scores) == set(LABELS)
        assert sum(prediction.scores.values()) == pytest.approx(1.0, abs=1e-9)
        assert all(0.0 <= p <= 1.0 for p in prediction.scores.values())
        assert prediction.confidence == max(prediction.scores.values())
        assert prediction.scores[prediction.label] == prediction.confidence
    got = [p.label for p in predictions]
    expected = ["shipping", "billing_dispute", "technical", "account", "refund"]
    assert sum(g == e for g, e in zip(got, expected, strict=True)) >= 4, got


def test_predict_proba_rows_sum_to_one(trained, shipped) -> None:
    classifier, _ = trained
    proba = classifier.predict_proba(shipped[0][:50])
    assert proba.shape == (50, 5)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    assert classifier.predict([]) == []


def test_training_is_reproducible(shipped, trained) -> None:
    texts, labels = shipped
    _, first = trained
    _, again = train_classifier(texts, labels, seed=0)
    assert again.accuracy == first.accuracy
    assert again.ece == pytest.approx(first.ece)


# ------------------------------------------------------------- persistence


def test_bytes_round_trip_gives_identical_predictions(trained, shipped) -> None:
    classifier, _ = trained
    blob = classifier.to_bytes()
    assert isinstance(blob, bytes)
    loaded = TextClassifier.from_bytes(blob)
    assert loaded.labels == classifier.labels
    assert loaded.calibrated_with == classifier.calibrated_with
    sample = [*shipped[0][:40], "a text unlike anything seen in training, zzz qqq"]
    assert loaded.predict(sample) == classifier.predict(sample)
    np.testing.assert_array_equal(loaded.predict_proba(sample), classifier.predict_proba(sample))


def test_from_bytes_rejects_foreign_bytes() -> None:
    with pytest.raises(ModelError, match="not a saved text classifier"):
        TextClassifier.from_bytes(b"definitely not joblib")
    buffer = io.BytesIO()
    joblib.dump({"something": "else"}, buffer)
    with pytest.raises(ModelError, match="not a saved Loopgate text classifier"):
        TextClassifier.from_bytes(buffer.getvalue())
    with pytest.raises(ModelError, match="expected bytes"):
        TextClassifier.from_bytes("text")  # type: ignore[arg-type]


def test_untrained_classifier_says_what_to_do() -> None:
    classifier = TextClassifier()
    assert not classifier.is_fitted
    assert classifier.labels == []
    with pytest.raises(ModelError, match="not trained"):
        classifier.predict(["hello"])
    with pytest.raises(ModelError, match="not trained"):
        classifier.to_bytes()


# --------------------------------------------------------------- ECE by hand


def test_ece_is_zero_when_confidence_matches_accuracy() -> None:
    assert expected_calibration_error([1.0, 1.0], [True, True]) == 0.0
    assert expected_calibration_error([0.9] * 10, [1] * 9 + [0]) == pytest.approx(0.0)


def test_ece_hand_computed_two_bins() -> None:
    # Bin [0.8, 0.9): accuracy 1/2, confidence 0.8 -> gap 0.3, weight 1/2.
    # Bin [0.3, 0.4): accuracy 0/2, confidence 0.3 -> gap 0.3, weight 1/2.
    ece = expected_calibration_error([0.8, 0.8, 0.3, 0.3], [True, False, False, False])
    assert ece == pytest.approx(0.3)


def test_ece_hand_computed_bin_count_matters() -> None:
    # One bin: accuracy 0.5, mean confidence 0.75 -> 0.25.
    assert expected_calibration_error([0.95, 0.55], [False, True], n_bins=1) == pytest.approx(0.25)
    # Ten bins: |0 - 0.95| / 2 + |1 - 0.55| / 2 = 0.7.
    assert expected_calibration_error([0.95, 0.55], [False, True]) == pytest.approx(0.7)


def test_ece_puts_confidence_one_in_the_last_bin() -> None:
    # 1.0 and 0.95 share bin [0.9, 1.0]: accuracy 0.5, confidence 0.975.
    assert expected_calibration_error([1.0, 0.95], [True, False]) == pytest.approx(0.475)


def test_ece_accepts_numpy_arrays() -> None:
    conf = np.array([0.6, 0.6, 0.6, 0.6, 0.6])
    correct = np.array([1, 1, 1, 0, 0], dtype=bool)
    assert expected_calibration_error(conf, correct) == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("confidences", "correct", "n_bins", "message"),
    [
        ([], [], 10, "without any predictions"),
        ([0.5], [True, False], 10, "1 confidences but 2"),
        ([1.5], [True], 10, "between 0 and 1"),
        ([-0.1], [True], 10, "between 0 and 1"),
        ([0.5], [True], 0, "n_bins"),
    ],
)
def test_ece_rejects_bad_input(confidences, correct, n_bins, message) -> None:
    with pytest.raises(ModelError, match=message):
        expected_calibration_error(confidences, correct, n_bins=n_bins)


# -------------------------------------------------------------- bad data


def test_empty_data_set_is_refused() -> None:
    with pytest.raises(ModelError, match="empty"):
        train_classifier([], [])
    with pytest.raises(ModelError, match="empty"):
        TextClassifier().fit([], [])


def test_a_single_label_is_refused() -> None:
    with pytest.raises(ModelError, match=r"only one label \('refund'\).*at least 2"):
        train_classifier(["give me my money", "refund please"], ["refund", "refund"])


def test_a_label_with_one_example_is_named() -> None:
    texts = ["refund please", "money back", "parcel late", "where is my parcel", "app crashed"]
    labels = ["refund", "refund", "shipping", "shipping", "technical"]
    with pytest.raises(ModelError, match=r"label 'technical' has only 1 example: add"):
        train_classifier(texts, labels)
    with pytest.raises(ModelError, match="'technical'"):
        TextClassifier().fit(texts, labels)


def test_several_scarce_labels_are_all_named() -> None:
    texts = ["a refund", "another refund", "app crashed", "parcel late"]
    labels = ["refund", "refund", "technical", "shipping"]
    with pytest.raises(ModelError, match=r"labels 'shipping', 'technical' have only 1 example"):
        train_classifier(texts, labels)


def test_mismatched_and_malformed_input_is_refused() -> None:
    with pytest.raises(ModelError, match="2 texts but 1 labels"):
        train_classifier(["one", "two"], ["a"])
    with pytest.raises(ModelError, match="single string"):
        TextClassifier().fit("not a list", ["a"])  # type: ignore[arg-type]
    with pytest.raises(ModelError, match="#2 is int"):
        TextClassifier().fit(["ok", 5, "x", "y"], ["a", "a", "b", "b"])  # type: ignore[list-item]
    with pytest.raises(ModelError, match="#3 has an empty label"):
        TextClassifier().fit(["a b", "c d", "e f", "g h"], ["x", "x", " ", "y"])
    with pytest.raises(ModelError, match="test_size"):
        train_classifier(["a b", "c d", "e f", "g h"], ["x", "x", "y", "y"], test_size=1.5)
    with pytest.raises(ModelError, match="unknown calibration"):
        TextClassifier(calibration="platt")  # type: ignore[arg-type]


def test_texts_without_words_are_refused_clearly() -> None:
    with pytest.raises(ModelError, match="no usable words"):
        TextClassifier().fit(["", "", "", ""], ["a", "a", "b", "b"])


def test_two_examples_per_label_still_trains() -> None:
    texts = [
        "please refund my order",
        "I want my money back",
        "the parcel has not arrived",
        "where is my delivery",
        "the app crashes on start",
        "error 500 when I log in",
    ]
    labels = ["refund", "refund", "shipping", "shipping", "technical", "technical"]
    classifier, result = train_classifier(texts, labels)
    assert result.n_test == 3  # at least one example of every label is held out
    assert result.n_train == 3
    assert result.calibration == "cv-temperature"  # the final fit has 2 per label: 2 folds
    assert classifier.labels == ["refund", "shipping", "technical"]
    (prediction,) = classifier.predict(["my parcel has not arrived yet"])
    assert sum(prediction.scores.values()) == pytest.approx(1.0)


def test_numeric_labels_become_strings() -> None:
    texts = ["refund please", "money back now", "parcel is late", "where is my parcel"]
    classifier = TextClassifier(calibration="sigmoid").fit(texts, [1, 1, 2, 2])
    assert classifier.labels == ["1", "2"]
    assert classifier.predict(["parcel late"])[0].label in {"1", "2"}


# ------------------------------------------------------------ training files


def test_load_csv_and_jsonl(tmp_path) -> None:
    csv_file = tmp_path / "train.csv"
    csv_file.write_text(
        'message,intent\n"Hello, where is my parcel?",shipping\nRefund me,refund\n',
        encoding="utf-8-sig",
    )
    texts, labels = load_training_file(csv_file, text_column="message", label_column="intent")
    assert texts == ["Hello, where is my parcel?", "Refund me"]
    assert labels == ["shipping", "refund"]

    jsonl_file = tmp_path / "train.jsonl"
    rows = [{"text": "app broken", "label": "technical"}, {"text": "late", "label": 7}]
    jsonl_file.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    assert load_training_file(jsonl_file) == (["app broken", "late"], ["technical", "7"])


def test_load_reports_missing_column_with_file_name(tmp_path) -> None:
    csv_file = tmp_path / "bad.csv"
    csv_file.write_text("body,label\nhello,x\n", encoding="utf-8")
    with pytest.raises(ModelError, match=r"bad\.csv: no column 'text'; the columns are 'body'"):
        load_training_file(csv_file)

    jsonl_file = tmp_path / "bad.jsonl"
    jsonl_file.write_text('{"text": "a", "label": "x"}\n{"text": "b"}\n', encoding="utf-8")
    with pytest.raises(ModelError, match=r"bad\.jsonl, line 2: no key 'label'"):
        load_training_file(jsonl_file)


def test_load_reports_bad_lines(tmp_path) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text": "a", "label": "x"}\n{"text": "b", label: y}\n', encoding="utf-8")
    with pytest.raises(ModelError, match=r"broken\.jsonl, line 2: not valid JSON"):
        load_training_file(broken)

    not_object = tmp_path / "list.jsonl"
    not_object.write_text('["a", "x"]\n', encoding="utf-8")
    with pytest.raises(ModelError, match="line 1: expected a JSON object, got list"):
        load_training_file(not_object)

    short_row = tmp_path / "short.csv"
    short_row.write_text("text,label\nfine,x\nno label here\n", encoding="utf-8")
    with pytest.raises(ModelError, match=r"short\.csv, line 3: the row has fewer cells"):
        load_training_file(short_row)

    empty_label = tmp_path / "empty.csv"
    empty_label.write_text("text,label\nfine,x\nnothing,\n", encoding="utf-8")
    with pytest.raises(ModelError, match=r"empty\.csv, line 3: empty 'label'"):
        load_training_file(empty_label)


def test_load_refuses_missing_and_unsupported_files(tmp_path) -> None:
    with pytest.raises(ModelError, match=r"nope\.csv: no such training file"):
        load_training_file(tmp_path / "nope.csv")
    xlsx = tmp_path / "data.xlsx"
    xlsx.write_bytes(b"PK")
    with pytest.raises(ModelError, match=r"data\.xlsx: training files must be \.csv or \.jsonl"):
        load_training_file(xlsx)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("text,label\ncaf\xe9,x\n".encode("latin-1"))
    with pytest.raises(ModelError, match=r"latin\.csv: not UTF-8"):
        load_training_file(latin)
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(ModelError, match=r"empty\.csv: the file is empty"):
        load_training_file(empty)


# ------------------------------------------------------------- performance


def test_many_labels_train() -> None:  # speed: python -m bench.calibration, not a unit test
    texts, labels = synthetic_data(900, 30)
    _, result = train_classifier(texts, labels)
    assert len(result.labels) == 30
    assert result.accuracy > 1 / 30 * 5  # far better than chance


@pytest.mark.skipif(
    not os.environ.get("LOOPGATE_SLOW_TESTS"), reason="set LOOPGATE_SLOW_TESTS=1 (~30 s)"
)
def test_ten_thousand_rows_thirty_labels() -> None:
    texts, labels = synthetic_data(10_000, 30)
    _, result = train_classifier(texts, labels)
    assert result.accuracy > 0.6 and result.ece <= 0.05


@pytest.mark.skipif(not classifier_module._HAS_TEMPERATURE, reason="needs scikit-learn 1.8")
def test_temperature_calibration_is_available(shipped) -> None:
    texts, labels = shipped
    classifier = TextClassifier(calibration="temperature").fit(texts, labels)
    assert classifier.calibrated_with == "temperature"
    proba = classifier.predict_proba(texts[:20])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
