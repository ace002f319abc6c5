"""The learning loop, end to end through the product: seed, run, review, retrain, run again.

For each classifier kind (the TF-IDF default and the optional ``embeddings``), in a fresh
temporary DuckDB store:

1. train model ``intents`` from a small seed (10 examples per label) of the generated
   customer-support data set (:mod:`bench.intents_data`, 30 intents, 6,600 rows) with the
   model registry (what ``loopgate model train intents --data seed.csv --kind K`` runs);
2. run 500 items through the workflow ``ai_classify -> confidence_gate (0.8) -> end``
   with ``Engine.start_many`` (what ``loopgate run --items`` runs);
3. decide every waiting review with the true label, as a reviewer: ``decide_many`` approves
   the right ones, an edit of ``intent.label`` corrects each wrong one;
4. retrain (the feedback is added by the registry, the kind is kept);
5. run 500 NEW items.

It prints, for each kind and round: automation (the share of runs that passed the gate
with no person), the error among those auto-passed items, the ECE of the model's
confidences on the round's items, its accuracy, and the held-out ECE the training reported.

    python -m bench.learning_loop                  # 500 + 500 items per kind
    python -m bench.learning_loop --quick          # the smoke run the tests use
    python -m bench.learning_loop --kinds tfidf    # one kind only
    python -m bench.learning_loop --target-error 0.02   # the gate picks its threshold

With ``--target-error`` the gate sets ``target_error`` instead of a fixed threshold: each
model version's threshold is chosen from its own held-out calibration, so the two rounds
are compared at the same promised error, and the table shows the threshold each used.
"""

from __future__ import annotations

import argparse
import csv
import random
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from bench.intents_data import generate
from runtime import Store
from runtime.auth import add_user
from runtime.engine import Engine
from runtime.models.classifier import expected_calibration_error
from runtime.services import default_services
from runtime.spec import loads_yaml

MODEL = "intents"
REVIEWER, DESIGNER = "rae", "dee"

WORKFLOW = """
id: intents-loop
name: Support intents with a learning classifier
input:
  message: {type: string, required: true}
nodes:
  - id: start
    type: trigger
  - id: intent
    type: ai_classify
    params: {text: "{{ item.message }}", model: intents}
  - id: unsure
    type: confidence_gate
    params: {of: intent, GATE, team: support, editable: [intent.label]}
  - id: done
    type: end
    params: {result: routed}
  - id: failed
    type: end
    params: {result: error}
edges:
  - {from: start, to: intent}
  - {from: intent, to: unsure, branch: next}
  - {from: intent, to: failed, branch: error}
  - {from: unsure, to: done, branch: pass}
  - {from: unsure, to: done, branch: rejected}
"""


def split(
    seed: int, per_label: int, n_items: int
) -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[tuple[str, str]]]:
    """``(seed rows, round-1 items, round-2 items)``, disjoint, from the generated data set."""
    texts, labels = generate(seed=7)
    rng = random.Random(seed)
    by_label: dict[str, list[str]] = defaultdict(list)
    for text, label in zip(texts, labels, strict=True):
        by_label[label].append(text)
    seed_rows, rest = [], []
    for label in sorted(by_label):
        rows = by_label[label][:]
        rng.shuffle(rows)
        seed_rows += [(t, label) for t in rows[:per_label]]
        rest += [(t, label) for t in rows[per_label:]]
    rng.shuffle(rest)
    return seed_rows, rest[:n_items], rest[n_items : 2 * n_items]


def run_round(engine: Engine, spec: Any, items: list[tuple[str, str]]) -> tuple[dict, list]:
    """Run the items; return the round's figures and the waiting reviews with the truth."""
    results = engine.start_many(spec, [{"message": text} for text, _ in items])
    auto = auto_wrong = 0
    confidences, hits, waiting = [], [], []
    for result, (_, truth) in zip(results, items, strict=True):
        if not hasattr(result, "status"):
            raise SystemExit(f"an item failed to start: {result}")
        intent = result.outputs.get("intent") or {}
        label, confidence = intent.get("label"), float(intent.get("confidence") or 0.0)
        confidences.append(confidence)
        hits.append(label == truth)
        if result.status == "waiting":
            waiting.append((result.review_id, label, truth))
        elif result.status == "succeeded":
            auto += 1
            auto_wrong += label != truth
        else:
            raise SystemExit(f"run {result.run_id} ended {result.status}: {result.error}")
    figures = {
        "automation": auto / len(items),
        "auto_error": auto_wrong / auto if auto else 0.0,
        "ece": expected_calibration_error(np.asarray(confidences), np.asarray(hits)),
        "accuracy": float(np.mean(hits)),
        "version": (results[0].outputs.get("intent") or {}).get("model_version"),
        "threshold": _used_threshold(results),
    }
    return figures, waiting


def _used_threshold(results: list[Any]) -> float | None:
    """The threshold a ``target_error`` gate chose in this round (None: a fixed one)."""
    for result in results:
        gate = result.outputs.get("unsure") or {}
        if "threshold" in gate:
            return gate["threshold"]
    return None


def review_all(engine: Engine, waiting: list[tuple[str, str, str]]) -> tuple[int, int]:
    """Approve the right labels in bulk, correct the wrong ones; ``(approved, corrected)``."""
    right = [review for review, label, truth in waiting if label == truth]
    wrong = [(review, truth) for review, label, truth in waiting if label != truth]
    if right:
        for outcome in engine.decide_many(right, {"action": "approve"}, by=REVIEWER):
            if not hasattr(outcome, "status"):
                raise SystemExit(f"a bulk approval failed: {outcome}")
    for review, truth in wrong:
        engine.decide(review, {"action": "edit", "data": {"intent.label": truth}}, by=REVIEWER)
    engine.flush()
    return len(right), len(wrong)


def loop(
    kind: str,
    *,
    per_label: int,
    n_items: int,
    threshold: float,
    seed: int,
    target_error: float | None = None,
) -> dict:
    """One whole round for one classifier kind, in a temporary store."""
    seed_rows, first, second = split(seed, per_label, n_items)
    with tempfile.TemporaryDirectory(prefix="loopgate-loop-") as tmp:
        data = Path(tmp) / "seed.csv"
        with data.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "label"])
            writer.writerows(seed_rows)
        store = Store(Path(tmp) / "loop.duckdb")
        try:
            engine = Engine(store, services=default_services(store))
            add_user(store, REVIEWER, roles=["reviewer"], teams=["support"])
            add_user(store, DESIGNER, roles=["designer"], teams=[])
            models = engine.services.models
            started = time.perf_counter()
            v1 = models.train(MODEL, data=str(data), kind=kind, by=DESIGNER)
            gate = (
                f"threshold: {threshold}"
                if target_error is None
                else f"target_error: {target_error}"
            )
            spec = loads_yaml(WORKFLOW.replace("GATE", gate))
            before, waiting = run_round(engine, spec, first)
            approved, corrected = review_all(engine, waiting)
            v2 = models.train(MODEL, by=DESIGNER)
            if not v2.promoted:  # the round's effect is what is measured: use v2 anyway
                print(f"[{kind}] v2 {v2.promotion}; promoted by hand for the bench", flush=True)
                models.promote(MODEL, v2.version, by=DESIGNER, reason="learning-loop bench")
            after, _ = run_round(engine, spec, second)
            seconds = time.perf_counter() - started
        finally:
            store.close()
    before["held_out_ece"], after["held_out_ece"] = v1.after.ece, v2.after.ece
    return {
        "gate": threshold if target_error is None else None,
        "kind": kind,
        "before": before,
        "after": after,
        "approved": approved,
        "corrected": corrected,
        "n_feedback": v2.n_feedback,
        "seconds": seconds,
    }


def _threshold(figures: dict, res: dict) -> str:
    chosen = figures.get("threshold")
    if res["gate"] is not None:
        return f"{res['gate']:.2f}"
    return "none met" if chosen is None else f"{chosen:.3f} (chosen)"


def table(results: list[dict]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| kind | round | model | threshold | automation | error among auto-passed "
        "| ECE (items) | held-out ECE | accuracy |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for res in results:
        for name in ("before", "after"):
            f = res[name]
            lines.append(
                f"| {res['kind']} | {name} the round | v{f['version']} "
                f"| {_threshold(f, res)} | {f['automation']:.1%} "
                f"| {f['auto_error']:.1%} | {f['ece']:.3f} | {f['held_out_ece']:.3f} "
                f"| {f['accuracy']:.3f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict]:
    """Run the benchmark and print the table (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", default="tfidf,embeddings", help="comma-separated kinds")
    parser.add_argument("--items", type=int, default=500, help="items per round")
    parser.add_argument("--per-label", type=int, default=10, help="seed examples per label")
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument(
        "--target-error",
        type=float,
        default=None,
        help="gate on target_error instead of --threshold (e.g. 0.02)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="60 items per round")
    args = parser.parse_args(argv)
    n_items = 60 if args.quick else args.items
    results = []
    for kind in [k.strip() for k in args.kinds.split(",") if k.strip()]:
        res = loop(
            kind,
            per_label=args.per_label,
            n_items=n_items,
            threshold=args.threshold,
            seed=args.seed,
            target_error=args.target_error,
        )
        print(
            f"{kind}: {res['approved']} approved, {res['corrected']} corrected, "
            f"{res['n_feedback']} feedback rows learnt, {res['seconds']:.0f} s",
            flush=True,
        )
        results.append(res)
    print()
    print(
        f"{n_items} items per round, "
        + (
            f"threshold {args.threshold}"
            if args.target_error is None
            else f"target_error {args.target_error}"
        )
        + ", seed of "
        f"{args.per_label} examples per label"
    )
    print(table(results))
    return results


if __name__ == "__main__":
    main()
