"""A synthetic labelled text set for classifier tests and benches: Zipf-distributed
pseudo-words plus a few topic words per label, with overlap between labels."""

from __future__ import annotations

import random
import string


def synthetic_data(n_rows: int, n_labels: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """``n_rows`` texts over ``n_labels`` labels (seeded): Zipf-distributed pseudo-words
    plus a few topic words per label, and a few of another label's."""
    rng = random.Random(seed)

    def word() -> str:
        return "".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 10)))

    vocab = sorted({word() for _ in range(30_000)})
    weights = [1 / (i + 1) for i in range(len(vocab))]
    topics = {f"label_{k:02d}": [word() for _ in range(60)] for k in range(n_labels)}
    names = sorted(topics)
    texts, labels = [], []
    for row in range(n_rows):
        label = names[row % n_labels]
        words = rng.choices(vocab, weights, k=rng.randint(8, 40))
        words += rng.choices(topics[label], k=rng.randint(1, 4))
        words += rng.choices(topics[rng.choice(names)], k=rng.randint(0, 2))
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(label)
    return texts, labels
