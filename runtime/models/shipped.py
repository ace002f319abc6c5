"""The model Loopgate ships: its name and the data set its first version is trained on."""

from __future__ import annotations

from pathlib import Path

#: The model ``ai_classify`` uses unless told otherwise.
SHIPPED_MODEL = "support-intents"
#: The data set the shipped model's first version is trained on.
SHIPPED_DATA = Path(__file__).resolve().parents[2] / "examples" / "data" / "support_messages.csv"
