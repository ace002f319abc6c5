"""How much should a reviewer's correction weigh? Measures CORRECTION_WEIGHT candidates.

Run: ``python -m bench.correction_weight``.

1. In distribution: intent-like data (bench/calibration.py), a model on 10 examples per
   intent, a round of 600 items of which the wrong ones are corrected (the rest approved),
   retrained with corrections weighted W; accuracy and ECE on 1,500 held-out rows, mean of
   3 rounds.
2. New phrasing: the shipped model plus 2 corrections of a phrasing its data lacks
   ("webhook deliveries" are technical, not shipping); how many of 5 unseen wordings of it
   the retrained model gets right, and its probability of the right label.
"""

from __future__ import annotations

import numpy as np

from bench.calibration import intent_data
from runtime.models import TextClassifier, load_training_file
from runtime.models.calibration import expected_calibration_error
from runtime.models.shipped import SHIPPED_DATA

WEIGHTS = (1.0, 2.0, 3.0, 5.0)
CORRECTED = {
    "Webhook deliveries fail since Monday": "technical",
    "Our webhook deliveries keep bouncing back": "technical",
}
UNSEEN = {
    "Webhook deliveries to our server are failing": "technical",
    "Our webhook delivery is broken again": "technical",
    "Notification emails are not delivered": "technical",
    "Webhook notifications are not delivered anymore": "technical",
    "Our webhook deliveries time out": "technical",
}


def in_distribution() -> None:
    """Part 1 (see the module docstring)."""
    texts, labels = intent_data(6000, seed=7)
    counts: dict[str, int] = {}
    seed_rows = []
    for i, label in enumerate(labels):
        if counts.get(label, 0) < 10:
            seed_rows.append(i)
            counts[label] = counts.get(label, 0) + 1
    taken = set(seed_rows)
    rest = [i for i in range(len(texts)) if i not in taken]
    np.random.default_rng(0).shuffle(rest)
    test = rest[:1500]
    truth = np.array([labels[i] for i in test])
    first = TextClassifier().fit([texts[i] for i in seed_rows], [labels[i] for i in seed_rows])
    for weight in WEIGHTS:
        figures = []
        for r in range(3):
            pool = rest[1500 + r * 600 : 1500 + (r + 1) * 600]
            predicted = first.predict([texts[i] for i in pool])
            rows = seed_rows + pool
            w = [1.0] * len(seed_rows) + [
                weight if p.label != labels[i] else 1.0
                for p, i in zip(predicted, pool, strict=True)
            ]
            model = TextClassifier().fit(
                [texts[i] for i in rows], [labels[i] for i in rows], sample_weight=w
            )
            proba = model.predict_proba([texts[i] for i in test])
            hits = np.asarray(model.labels)[proba.argmax(axis=1)] == truth
            figures.append((hits.mean(), expected_calibration_error(proba.max(axis=1), hits)))
        accuracy, ece = np.mean(figures, axis=0)
        print(f"in distribution, W={weight}: accuracy {accuracy:.3f}, ECE {ece:.3f}", flush=True)


def new_phrasing() -> None:
    """Part 2 (see the module docstring)."""
    texts, labels = load_training_file(SHIPPED_DATA)
    for weight in WEIGHTS:
        model = TextClassifier().fit(
            texts + list(CORRECTED),
            labels + list(CORRECTED.values()),
            sample_weight=[1.0] * len(texts) + [weight] * len(CORRECTED),
        )
        predicted = model.predict(list(UNSEEN))
        right = sum(p.label == y for p, y in zip(predicted, UNSEEN.values(), strict=True))
        mean = sum(p.scores[y] for p, y in zip(predicted, UNSEEN.values(), strict=True)) / len(
            UNSEEN
        )
        print(f"new phrasing, W={weight}: {right}/{len(UNSEEN)} right, p(right label) {mean:.2f}")


if __name__ == "__main__":
    in_distribution()
    new_phrasing()
