"""The model registry: versions in the store, the shipped model trained on first use."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.models import ModelError, TextClassifier
from runtime.models.registry import SHIPPED_MODEL, ModelRegistry
from runtime.store import Store

LABELS = ["account", "billing_dispute", "refund", "shipping", "technical"]


@pytest.fixture(scope="module")
def shipped_row() -> dict[str, Any]:
    """The shipped model trained once for the module (as the registry stores it)."""
    store = Store(":memory:")
    ModelRegistry(store).ensure_shipped()
    row = store.get_model(SHIPPED_MODEL)
    store.close()
    assert row is not None
    return row


def test_model_registry_round_trip(store: Store, shipped_row: dict[str, Any]) -> None:
    registry = ModelRegistry(store)
    assert registry.latest_version("support-intents") is None
    assert store.get_model("support-intents") is None
    assert store.list_models() == []
    v1 = store.save_model(
        "support-intents",
        provider="builtin",
        labels=shipped_row["labels"],
        metrics={"accuracy": 0.9},
        blob=shipped_row["blob"],
        source="shipped",
        created_by="ann",
        training={"texts": ["a"], "labels": ["b"]},
    )
    v2 = store.save_model(
        "support-intents",
        provider="builtin",
        labels=shipped_row["labels"],
        metrics={"accuracy": 0.95},
        blob=shipped_row["blob"],
        source="file:x.csv",
    )
    assert (v1, v2) == (1, 2)
    assert registry.latest_version("support-intents") == 2
    row = store.get_model("support-intents", 1)
    assert row["blob"] == shipped_row["blob"]
    assert row["training"] == {"texts": ["a"], "labels": ["b"]}
    assert row["created_by"] == "ann" and row["labels"] == LABELS
    assert store.get_model("support-intents")["version"] == 2
    assert store.get_model("support-intents", 9) is None
    listed = store.list_models()
    assert [(m["version"], m["source"]) for m in listed] == [(2, "file:x.csv"), (1, "shipped")]
    assert listed[0]["metrics"] == {"accuracy": 0.95} and listed[0]["size"] > 1000
    assert "blob" not in listed[0]

    model, version = registry.classifier("support-intents")
    assert version == 2 and isinstance(model, TextClassifier)
    again, _ = registry.classifier("support-intents", 2)
    assert again is model  # cached per (name, version)
    first, v = registry.classifier("support-intents", 1)
    assert v == 1 and first is not model
    text = "Where is my parcel?"
    assert first.predict([text])[0] == model.predict([text])[0]
    with pytest.raises(ModelError, match="has no version 7"):
        registry.classifier("support-intents", 7)
    with pytest.raises(ModelError, match="no model named 'other'"):
        registry.classifier("other")


def test_the_shipped_model_is_trained_once_on_first_use(store: Store) -> None:
    registry = ModelRegistry(store)
    model, version = registry.classifier("support-intents")
    assert version == 1 and model.labels == LABELS
    assert registry.ensure_shipped() == 1
    assert store.latest_model_version("support-intents") == 1
    row = store.list_models()[0]
    assert row["source"] == "shipped" and row["created_by"] is None
    assert row["metrics"]["n_examples"] == 400 and row["metrics"]["accuracy"] > 0.8
    assert 0 <= row["metrics"]["ece"] < 0.2


def test_save_model_works_inside_an_open_run_transaction(
    store: Store, shipped_row: dict[str, Any]
) -> None:
    with store.transaction() as cur:
        cur.execute("SELECT 1")
        version = store.save_model(
            "m",
            provider="builtin",
            labels=["a"],
            metrics={},
            blob=shipped_row["blob"],
            source="shipped",
        )
    assert version == 1 and store.latest_model_version("m") == 1
