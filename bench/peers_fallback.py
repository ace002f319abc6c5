"""The item generator and classifier of the peer benchmark, for runs without LangGraph."""

from __future__ import annotations

import hashlib

LABELS = ["refund", "billing", "technical"]


def classify_text(text: str) -> tuple[str, float]:
    h = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")
    return LABELS[h % 3], 0.6 + 0.4 * ((h // 3) % 10**6) / 10**6


def make_items(n: int, seed: int = 0) -> list[dict[str, str]]:
    return [{"id": f"item-{seed}-{i:07d}", "text": f"support message {seed}-{i}"} for i in range(n)]
