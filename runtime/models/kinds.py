"""Which classifier a model version is: ``tfidf`` (the default) or ``embeddings``.

Training picks the kind (``loopgate model train NAME --kind embeddings``); a saved
version's bytes say which kind they are, so the registry loads each with its own class.
"""

from __future__ import annotations

from typing import Any

from runtime.models.errors import ModelError

#: The classifier kinds, the default first.
KINDS = ("tfidf", "embeddings")
DEFAULT_KIND = "tfidf"


def check_kind(kind: str) -> str:
    """``kind`` if it is a known classifier kind, else a clear :class:`ModelError`."""
    if kind not in KINDS:
        raise ModelError(f"unknown classifier kind {kind!r}: use one of {', '.join(KINDS)}")
    return kind


def make_classifier(kind: str = DEFAULT_KIND) -> Any:
    """A new, untrained classifier of ``kind``.

    Raises:
        ModelError: an unknown kind, or ``embeddings`` without its extra or model
            installed (the message names the pip command).
    """
    if check_kind(kind) == "embeddings":
        from runtime.models.embeddings import EmbeddingClassifier
        from runtime.models.minilm import load_encoder

        load_encoder()  # fail now, with the pip command, rather than half-way through training
        return EmbeddingClassifier()
    from runtime.models.classifier import TextClassifier

    return TextClassifier()


def kind_of(model: Any) -> str:
    """The kind of a classifier object."""
    return str(getattr(model, "kind", DEFAULT_KIND))


def load_classifier(data: bytes) -> Any:
    """A classifier from its saved bytes, whichever kind wrote them.

    Raises:
        ModelError: the bytes do not load (the embeddings kind also when its encoder is
            not installed here).
    """
    from runtime.models.embeddings import MAGIC

    if bytes(data[: len(MAGIC)]) == MAGIC:
        from runtime.models.embeddings import EmbeddingClassifier

        return EmbeddingClassifier.from_bytes(data)
    from runtime.models.classifier import TextClassifier

    return TextClassifier.from_bytes(data)
