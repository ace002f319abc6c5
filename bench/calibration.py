"""Held-out accuracy and calibration (ECE before/after) of the builtin TF-IDF classifier.

Run: ``python -m bench.calibration [--quick]``. Data sets: the shipped support messages
(400 rows, 5 labels; mean of 5 splits, 80 held-out rows each), the tests' synthetic set
(5,000 rows, 25 labels) and an intent-like set generated here (3,000 rows, 20 intents:
templated customer requests with shared vocabulary, typos and off-topic words, so labels
overlap the way real intents do). Each is measured with the default ``cv-temperature``
and with ``isotonic`` (the default before), plus the training time of 10,000 rows x 30
labels (wall and CPU seconds).
"""

from __future__ import annotations

import argparse
import random
import time

from bench.synthetic_text import synthetic_data
from runtime.models import load_training_file, train_classifier
from runtime.models.shipped import SHIPPED_DATA

INTENTS = {
    "cancel_order": ["cancel my order", "stop the order", "I no longer want the order"],
    "change_order": ["change my order", "modify the order", "edit what I ordered"],
    "track_order": ["where is my order", "track the order", "order status please"],
    "delivery_delay": ["my order is late", "delivery is delayed", "parcel still not here"],
    "refund_status": ["where is my refund", "refund not received", "status of my refund"],
    "request_refund": ["I want a refund", "give me my money back", "refund this order"],
    "payment_failed": ["my payment failed", "card was declined", "cannot pay for the order"],
    "double_charge": ["charged twice", "two payments taken", "double charge on my card"],
    "change_address": ["change my delivery address", "update shipping address", "wrong address"],
    "reset_password": ["reset my password", "forgot my password", "password link not working"],
    "delete_account": ["delete my account", "close my account", "remove my profile"],
    "login_problem": ["cannot log in", "login fails", "locked out of my account"],
    "invoice_request": ["send me an invoice", "need a receipt", "invoice for my order"],
    "coupon_problem": ["coupon does not work", "discount code invalid", "promo code failed"],
    "product_question": ["is this product in stock", "what size is it", "product details"],
    "damaged_item": ["item arrived broken", "product is damaged", "received it cracked"],
    "wrong_item": ["got the wrong item", "this is not what I ordered", "wrong product sent"],
    "return_item": ["return an item", "send the product back", "how do I return it"],
    "contact_human": ["talk to a person", "speak to an agent", "human please"],
    "app_crash": ["the app crashes", "app keeps closing", "app freezes on start"],
}
FILLERS = [
    "hi",
    "hello",
    "please",
    "asap",
    "thanks",
    "my order",
    "the order",
    "today",
    "again",
    "I think",
    "can you help",
    "urgent",
    "order 12345",
    "yesterday",
    "on the website",
    "in the app",
    "my account",
    "the payment",
    "my card",
    "the delivery",
]


def intent_data(n_rows: int = 3000, seed: int = 0) -> tuple[list[str], list[str]]:
    """Templated intents with shared filler words, typos and word drops (labels overlap)."""
    rng = random.Random(seed)
    names = sorted(INTENTS)
    texts, labels = [], []
    for row in range(n_rows):
        label = names[row % len(names)]
        words = rng.choice(INTENTS[label]).split()
        if rng.random() < 0.3:  # a phrase of another intent: real messages mix topics
            words += rng.choice(INTENTS[rng.choice(names)]).split()[: rng.randint(1, 3)]
        words = [w for w in words if rng.random() > 0.15] or words[:1]  # dropped words
        words = [
            w[:i] + w[i + 1 :] if len(w) > 3 and rng.random() < 0.08 else w
            for w, i in ((w, rng.randrange(max(1, len(w)))) for w in words)
        ]  # typos
        words = (
            rng.sample(FILLERS, rng.randint(0, 3)) + words + rng.sample(FILLERS, rng.randint(0, 2))
        )
        texts.append(" ".join(words))
        labels.append(label)
    return texts, labels


def measure(name: str, texts, labels, seeds, calibration: str) -> None:
    """Print mean accuracy and ECE before/after over ``seeds`` held-out splits."""
    started, cpu = time.perf_counter(), time.process_time()
    results = [train_classifier(texts, labels, seed=s, calibration=calibration)[1] for s in seeds]
    n = len(results)
    before = [r.ece_uncalibrated for r in results if r.ece_uncalibrated is not None]
    print(
        f"{name:26s} {calibration:15s} n_test {results[0].n_test:5d} x{n}  "
        f"accuracy {sum(r.accuracy for r in results) / n:.3f}  "
        f"ECE before {sum(before) / len(before):.3f}  after {sum(r.ece for r in results) / n:.3f}  "
        f"({(time.perf_counter() - started) / n:.1f} s wall, "
        f"{(time.process_time() - cpu) / n:.1f} s CPU per training)",
        flush=True,
    )


def main() -> None:
    """Run the measurements and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one split each, no 10k timing")
    args = parser.parse_args()
    seeds = (0,) if args.quick else (0, 1, 2, 3, 4)
    sets = {
        "shipped (400 x 5)": load_training_file(SHIPPED_DATA),
        "intent-like (3000 x 20)": intent_data(3000),
        "synthetic (5000 x 25)": synthetic_data(5000, 25),
    }
    for name, (texts, labels) in sets.items():
        for calibration in ("cv-temperature", "isotonic"):
            measure(name, texts, labels, seeds if "shipped" in name else seeds[:2], calibration)
    if not args.quick:
        measure("synthetic (10000 x 30)", *synthetic_data(10_000, 30), (0,), "cv-temperature")


if __name__ == "__main__":
    main()
