"""Training classifier versions: from a file, from reviewers' feedback, or both.

A version is trained on *file rows* (a labelled ``.csv``/``.jsonl``, or the rows the
previous version was trained on) plus *feedback*: the label corrections and approvals
reviewers made on the model's outputs. Each version is measured on a held-out split of
that data, and the version it replaces is measured on the same split, so a retrain shows
what it changed (``before`` and ``after``).

Merging: a text seen more than once counts once (exact duplicates collapse) and takes its
latest label: feedback after file rows, a later reviewer decision after an earlier one.
A reviewer's correction weighs :data:`CORRECTION_WEIGHT` times a file row. A new version
becomes the model's default only when, on the same held-out rows, its accuracy and ECE are
no worse than the default's (within float noise for accuracy and the sampling noise of
ECE, see :data:`ECE_NOISE`); otherwise it is saved but not
promoted (``loopgate model promote`` forces it).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel

from runtime.domain import Event
from runtime.models.errors import ModelError
from runtime.models.gate_threshold import recorded_thresholds
from runtime.models.shipped import SHIPPED_DATA, SHIPPED_MODEL

if TYPE_CHECKING:
    from runtime.models.classifier import TextClassifier
    from runtime.store.contract import Catalog


class ModelRegistry(Protocol):
    """What training needs of a model registry (``runtime.models.registry.ModelRegistry``):
    its store, the classifiers it serves, and a way to serve a newly trained one."""

    store: Catalog

    def classifier(self, name: str, version: int | None = None) -> tuple[TextClassifier, int]:
        """A stored classifier and its version."""
        ...

    def remember(self, name: str, version: int, model: TextClassifier) -> None:
        """Serve ``model`` as ``name`` version ``version`` from now on."""
        ...


#: Actions whose feedback rows confirm the label the model gave.
_CONFIRMING = {"approve", "accept"}
#: Weight of an example a reviewer corrected, against 1 for file rows and approvals. A
#: correction is the model's own mistake on a real item, the most informative row there is
#: (see docs/models.md for the measurement behind the value).
CORRECTION_WEIGHT = 3.0
#: How much lower a retrained version's accuracy may measure on the same held-out rows and
#: still be promoted: float noise only, not a real loss.
ACCURACY_TOLERANCE = 0.0005
#: ECE is noisier than accuracy on a few dozen rows (binned, and the bins hold a handful
#: each): a higher ECE within ``ECE_NOISE / sqrt(n_test)`` (0.022 on 82 rows, 0.01 on 400,
#: never under 0.005) counts as no worse. Measured: the same data refitted with another
#: row order moved the shipped set's ECE on 80 rows by 0.026.
ECE_NOISE = 0.2


class Evaluation(BaseModel):
    """How a classifier did on held-out examples.

    Attributes:
        accuracy: share of held-out examples labelled right.
        ece: expected calibration error of its confidences (0 is perfect).
        macro_f1: F1 averaged over labels.
        n_test: held-out examples.
        version: the version evaluated (None for the candidate being trained).
        method: ``refit``: that version's training data fitted without the held-out
            examples; ``stored``: the stored model as it is (when its training data is not
            known; it may have seen some held-out examples, so it looks better than it is).
    """

    accuracy: float
    ece: float
    macro_f1: float
    n_test: int
    ece_uncalibrated: float | None = None
    version: int | None = None
    method: str = "refit"


class TrainReport(BaseModel):
    """What one training did.

    Attributes:
        name: the model.
        version: the version saved.
        source: where the file rows came from (``shipped``, ``file:PATH``, ``feedback``).
        n_examples: examples trained on after merging (a text counts once).
        n_file: examples from the file (or the previous version's rows).
        n_feedback: examples from reviewers' feedback.
        n_skipped: feedback rows that could not be used (no text, no label).
        left_out: labels only one feedback example gave (a typo, or too early to learn);
            those examples wait for the next training.
        labels: every label the new version can produce.
        before: the version it replaces, on the same held-out split (None for a first
            version): its training data (file rows and the feedback it used) refitted
            without the held-out examples, so that neither side has seen them.
        after: the new training data fitted without the held-out examples, measured on them.
        promoted: whether the new version became the model's default.
        promotion: why (or why not), one line.
        thresholds: thresholds chosen for a few target errors from the version's
            out-of-fold predictions (see runtime.models.gate_threshold).
        seconds: wall-clock time of the training.
    """

    name: str
    version: int
    source: str
    n_examples: int
    n_file: int
    n_feedback: int
    n_skipped: int
    left_out: list[str] = []
    labels: list[str]
    before: Evaluation | None
    after: Evaluation
    promoted: bool = True
    promotion: str = ""
    thresholds: list[dict[str, Any]] = []
    seconds: float


@dataclass
class FeedbackExamples:
    """Examples taken from feedback rows: (text, label) pairs and what was left out."""

    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    corrected: list[bool] = field(default_factory=list)
    skipped: int = 0


def feedback_examples(rows: Iterable[dict[str, Any]]) -> FeedbackExamples:
    """Turn feedback rows (see ``Store.feedback_for_model``) into labelled examples.

    * a correction of ``<node>.label`` gives (the text the model saw, the new label);
    * an approval (or an accepted output) gives (the text, the label the model gave);
    * anything else (a rejection, a correction of another field) says nothing about the
      label and is ignored; rows that should count but have no text are ``skipped``.

    The text comes from the AI output recorded with the row, else from the node's step
    output in that run.
    """
    out = FeedbackExamples()
    for row in rows:
        path = row.get("path")
        ai, human = row.get("ai_output"), row.get("human_output")
        step = row.get("step_output") if isinstance(row.get("step_output"), dict) else {}
        if path:
            if not path.endswith(".label") or path.count(".") != 1:
                continue
            label = human
        elif row.get("action") in _CONFIRMING and isinstance(human, dict):
            label = human.get("label")
        else:
            continue
        text = ai.get("text") if isinstance(ai, dict) else None
        text = text if isinstance(text, str) and text.strip() else step.get("text")
        if (
            not isinstance(label, str)
            or not label.strip()
            or not isinstance(text, str)
            or not text.strip()
        ):
            out.skipped += 1
            continue
        out.texts.append(text)
        out.labels.append(label.strip())
        out.ids.append(str(row.get("id")))
        out.corrected.append(bool(path) and label != _given_label(ai))
    return out


def _given_label(ai: Any) -> Any:
    """The label the model gave, from a feedback row's AI output (None if unknown)."""
    return ai.get("label") if isinstance(ai, dict) else None


def _drop_single_labels(
    feedback: FeedbackExamples, file_labels: Sequence[str]
) -> tuple[FeedbackExamples, list[str]]:
    """Feedback without the labels that only one of its examples has and the file lacks.

    A classifier needs two examples of a label; one reviewer's typo ("techincal") must not
    stop every retraining until someone makes it twice.
    """
    known = set(file_labels)
    latest = dict(zip(feedback.texts, feedback.labels, strict=True))  # a text's newest label
    counts = Counter(latest.values())
    rare = sorted(label for label, n in counts.items() if n < 2 and label not in known)
    if not rare:
        return feedback, []
    kept = FeedbackExamples(skipped=feedback.skipped)
    rows = zip(feedback.texts, feedback.labels, feedback.ids, feedback.corrected, strict=True)
    for text, label, fid, corrected in rows:
        if label not in rare:
            kept.texts.append(text)
            kept.labels.append(label)
            kept.ids.append(fid)
            kept.corrected.append(corrected)
    return kept, rare


def merge_examples(
    file_texts: Sequence[str], file_labels: Sequence[str], feedback: FeedbackExamples
) -> tuple[list[str], list[str]]:
    """File rows then feedback; a text seen again takes its latest label (people win)."""
    texts, labels, _ = merge_weighted(file_texts, file_labels, feedback)
    return texts, labels


def merge_weighted(
    file_texts: Sequence[str], file_labels: Sequence[str], feedback: FeedbackExamples
) -> tuple[list[str], list[str], list[float]]:
    """As :func:`merge_examples`, with a weight per example: :data:`CORRECTION_WEIGHT` for a
    text whose latest label is a reviewer's correction, 1 for the others."""
    merged: dict[str, tuple[str, float]] = {}
    for text, label in zip(file_texts, file_labels, strict=True):
        merged[text] = (label, 1.0)
    corrected = feedback.corrected or [False] * len(feedback.texts)
    for text, label, fixed in zip(feedback.texts, feedback.labels, corrected, strict=True):
        merged.pop(text, None)  # move it to the end, in feedback order
        merged[text] = (label, CORRECTION_WEIGHT if fixed else 1.0)
    return list(merged), [v[0] for v in merged.values()], [v[1] for v in merged.values()]


def held_out_split(
    texts: Sequence[str], labels: Sequence[str], *, test_size: float = 0.2, seed: int = 0
) -> tuple[list[str], list[str], list[str], list[str]]:
    """A stratified split with every label on both sides (as ``train_classifier`` does).

    Returns:
        ``(train_texts, test_texts, train_labels, test_labels)``.
    """
    from sklearn.model_selection import train_test_split

    n, n_labels = len(texts), len(set(labels))
    n_test = min(max(round(test_size * n), n_labels), n - n_labels)
    train_x, test_x, train_y, test_y = train_test_split(
        list(texts), list(labels), test_size=n_test, stratify=list(labels), random_state=seed
    )
    return train_x, test_x, train_y, test_y


def evaluate(
    model: TextClassifier, texts: Sequence[str], labels: Sequence[str], version: int | None = None
) -> Evaluation:
    """Accuracy, ECE and macro F1 of ``model`` on labelled texts (labels it cannot produce
    count as mistakes)."""
    import numpy as np
    from sklearn.metrics import f1_score

    from runtime.models.classifier import expected_calibration_error

    proba = model.predict_proba(list(texts))
    names = np.asarray(model.labels)
    predicted = names[proba.argmax(axis=1)]
    truth = np.asarray(list(labels))
    hits = predicted == truth
    uncalibrated = None
    if getattr(model, "kind", "tfidf") == "tfidf":  # the kind that can leave it out
        raw = model.predict_proba(list(texts), calibrated=False)
        uncalibrated = expected_calibration_error(
            raw.max(axis=1), names[raw.argmax(axis=1)] == truth
        )
    return Evaluation(
        accuracy=float(hits.mean()),
        ece=expected_calibration_error(proba.max(axis=1), hits),
        ece_uncalibrated=uncalibrated,
        macro_f1=float(f1_score(truth, predicted, average="macro", zero_division=0)),
        n_test=len(truth),
        version=version,
    )


def train_version(
    registry: ModelRegistry,
    name: str,
    *,
    data: str | Path | None = None,
    text_column: str = "text",
    label_column: str = "label",
    by: str | None = None,
    use_feedback: bool = True,
    source: str | None = None,
    test_size: float = 0.2,
    seed: int = 0,
    kind: str | None = None,
) -> TrainReport:
    """Train and save a new version of the classifier ``name``.

    Args:
        registry: the registry of the store to read from and save to.
        name: the model.
        data: a labelled ``.csv``/``.jsonl`` file; without it, the rows the newest version
            was trained on (the shipped data set for the shipped model's first version).
        text_column: the file's text column.
        label_column: the file's label column.
        by: the user training it.
        use_feedback: add the reviewers' feedback on this model's outputs.
        source: what to record as the data's source (default: from ``data``).
        test_size: share of the examples held out for the before/after figures.
        seed: seed of the held-out split.
        kind: ``tfidf`` or ``embeddings`` (see :mod:`runtime.models.kinds`); default the
            newest version's kind, ``tfidf`` for a first version.

    Returns:
        The report; the new version is saved in the store.

    Raises:
        ModelError: an unknown model without ``data``, an unreadable file, a missing
            column, or a training set that is empty or too small.
    """
    from runtime.models.classifier import check_training_data, load_training_file
    from runtime.models.kinds import DEFAULT_KIND, check_kind, make_classifier

    started = time.perf_counter()
    store = registry.store
    current = store.get_model(name)
    kind = check_kind(kind or ((current or {}).get("metrics") or {}).get("kind") or DEFAULT_KIND)
    make_classifier(kind)  # an embeddings kind without its extra fails here, naming pip
    if data is not None:
        file_texts, file_labels = load_training_file(data, text_column, label_column)
        source = source or f"file:{data}"
    elif current is not None:
        rows = current.get("training") or {}
        file_texts, file_labels = list(rows.get("texts") or []), list(rows.get("labels") or [])
        source = source or "feedback"
    elif name == SHIPPED_MODEL:
        file_texts, file_labels = load_training_file(SHIPPED_DATA)
        source = source or "shipped"
    else:
        known = sorted({m["name"] for m in store.list_models()} | {SHIPPED_MODEL})
        raise ModelError(
            f"no model named {name!r} in the store (models: {', '.join(known)}); train its "
            f"first version from a file: loopgate model train {name} --data FILE.csv"
        )
    feedback_rows = store.feedback_for_model(name)
    feedback = feedback_examples(feedback_rows) if use_feedback else FeedbackExamples()
    feedback, left_out = _drop_single_labels(feedback, file_labels)
    texts, labels, weights = merge_weighted(file_texts, file_labels, feedback)
    if not texts:
        raise ModelError(
            f"the training set for {name} is empty: no file rows and no usable reviewer "
            f"feedback ({feedback.skipped} feedback row(s) had no text); give --data FILE.csv"
        )
    texts, labels = check_training_data(texts, labels)
    weight_of = dict(zip(texts, weights, strict=True))

    train_x, test_x, train_y, test_y = held_out_split(texts, labels, test_size=test_size, seed=seed)
    default = store.default_model_version(name)
    before = None
    if current is not None and default is not None:
        compared = store.get_model(name, default) or current
        before = _evaluate_current(registry, compared, feedback_rows, held_out=(test_x, test_y))
    # The training split may hold a single example of a rare label, which fit() refuses
    # (calibration needs 2); _fit trains it uncalibrated, as train_classifier does.
    candidate = _fit_weighted(kind, train_x, train_y, _weights(weight_of, train_x))
    after = evaluate(candidate, test_x, test_y)
    final = _fit_weighted(kind, texts, labels, _weights(weight_of, texts), check=True)
    promoted, promotion = promotion_verdict(before, after)
    evidence = getattr(final, "evidence", None)
    thresholds = recorded_thresholds(evidence.confidence, evidence.correct) if evidence else []
    seconds = time.perf_counter() - started
    n_file = len(file_texts)
    n_corrections = sum(feedback.corrected)
    metrics = {
        **after.model_dump(exclude={"version"}),
        "n_train": len(train_x),
        "n_examples": len(texts),
        "n_file": n_file,
        "n_feedback": len(feedback.texts),
        "n_corrections": n_corrections,
        "correction_weight": CORRECTION_WEIGHT,
        "n_skipped": feedback.skipped,
        "left_out": left_out,
        "calibration": final.calibrated_with,
        "kind": kind,
        "temperature": round(float(getattr(final, "temperature", 1.0)), 4),
        "oof_ece_before": evidence.ece_before if evidence else None,
        "oof_ece_after": evidence.ece_after if evidence else None,
        "thresholds": thresholds,
        "promoted": promoted,
        "promotion": promotion,
        "test_size": test_size,
        "seed": seed,
        "seconds": round(seconds, 3),
        "before": before.model_dump() if before else None,
    }
    version = store.save_model(
        name,
        provider="builtin",
        labels=final.labels,
        metrics=metrics,
        blob=final.to_bytes(),
        source=source,
        created_by=by,
        training={
            "texts": list(file_texts),
            "labels": list(file_labels),
            "feedback_ids": feedback.ids,
            "calibration": (
                {"confidence": evidence.confidence, "correct": evidence.correct}
                if evidence
                else None
            ),
        },
    )
    registry.remember(name, version, final)
    actor = by or "system"
    if promoted:
        store.promote_model(name, version, by=actor, reason=promotion)
    elif default is not None:
        # Keep the default where it is even on a store from before promotions (where the
        # newest version was the default).
        store.promote_model(name, default, by=actor, reason=f"kept: v{version} {promotion}")
    summary = {k: metrics[k] for k in ("accuracy", "ece", "ece_uncalibrated", "n_test")}
    events = [
        Event(
            kind="model.trained",
            actor=actor,
            data={
                "model": name,
                "version": version,
                "source": source,
                "n_examples": len(texts),
                "n_corrections": n_corrections,
                "metrics": summary,
                "before": before.model_dump() if before else None,
                "promoted": promoted,
                "promotion": promotion,
            },
        )
    ]
    if promoted:
        events.append(promotion_event(name, version, actor, promotion))
    store.append_events(events)
    return TrainReport(
        name=name,
        version=version,
        source=source,
        n_examples=len(texts),
        n_file=n_file,
        n_feedback=len(feedback.texts),
        n_skipped=feedback.skipped,
        left_out=left_out,
        labels=final.labels,
        before=before,
        after=after,
        promoted=promoted,
        promotion=promotion,
        thresholds=thresholds,
        seconds=time.perf_counter() - started,
    )


def _fit_weighted(
    kind: str, texts: list[str], labels: list[str], weights: Any, *, check: bool = False
) -> Any:
    """A new classifier of ``kind`` fitted on the rows with their weights (both kinds take
    them). ``check``: apply the 2-examples-per-label rule (the final fit), else train
    what the split holds."""
    from runtime.models.kinds import make_classifier

    model = make_classifier(kind)
    if weights is None:
        return model.fit(texts, labels) if check else model._fit(texts, labels)
    if check:
        return model.fit(texts, labels, sample_weight=weights)
    return model._fit(texts, labels, weights)


def _weights(weight_of: dict[str, float], texts: Sequence[str]) -> Any:
    """The weights of ``texts`` as an array (None when all are 1: nothing to weigh)."""
    import numpy as np

    values = np.asarray([weight_of[t] for t in texts], dtype=float)
    return None if (values == 1.0).all() else values


def promotion_verdict(before: Evaluation | None, after: Evaluation) -> tuple[bool, str]:
    """Whether a new version becomes the default, and why, from the same held-out rows.

    Returns:
        ``(promote, reason)``: promoted when there is no default to compare with, or when
        neither accuracy nor ECE got worse (beyond :data:`ACCURACY_TOLERANCE` and the ECE's
        sampling noise, see :data:`ECE_NOISE`).
    """
    if before is None:
        return True, "first version"
    worse = []
    if after.accuracy < before.accuracy - ACCURACY_TOLERANCE:
        worse.append(f"accuracy {before.accuracy:.3f} -> {after.accuracy:.3f}")
    ece_tolerance = max(0.005, ECE_NOISE / math.sqrt(max(after.n_test, 1)))
    if after.ece > before.ece + ece_tolerance:
        worse.append(f"ECE {before.ece:.3f} -> {after.ece:.3f}")
    if worse:
        return False, (
            f"not promoted: worse than v{before.version} on the same {after.n_test} held-out "
            f"rows ({', '.join(worse)}); force it with `loopgate model promote`"
        )
    return True, (
        f"promoted: no worse than v{before.version} on the same {after.n_test} held-out rows "
        f"(accuracy {before.accuracy:.3f} -> {after.accuracy:.3f}, "
        f"ECE {before.ece:.3f} -> {after.ece:.3f})"
    )


def promotion_event(name: str, version: int, actor: str, reason: str) -> Event:
    """The ``model.promoted`` audit event."""
    return Event(
        kind="model.promoted",
        actor=actor,
        data={"model": name, "version": version, "reason": reason},
    )


def _evaluate_current(
    registry: ModelRegistry,
    current: dict[str, Any],
    feedback_rows: list[dict[str, Any]],
    *,
    held_out: tuple[list[str], list[str]],
) -> Evaluation:
    """The newest version on the held-out split, refitted on its own training data minus
    the held-out texts (its stored model has seen some of them)."""
    from runtime.models.kinds import DEFAULT_KIND

    kind = (current.get("metrics") or {}).get("kind") or DEFAULT_KIND
    test_x, test_y = held_out
    rows = current.get("training") or {}
    version = int(current["version"])
    if rows.get("texts"):
        used = set(rows.get("feedback_ids") or [])
        old_feedback = feedback_examples(r for r in feedback_rows if str(r.get("id")) in used)
        texts, labels, weights = merge_weighted(rows["texts"], rows["labels"], old_feedback)
        held = set(test_x)
        kept = [
            (t, label, w)
            for t, label, w in zip(texts, labels, weights, strict=True)
            if t not in held
        ]
        if len({label for _, label, _ in kept}) >= 2:
            weight_of = {t: w for t, _, w in kept}
            kept_x = [t for t, _, _ in kept]
            model = _fit_weighted(
                kind, kept_x, [label for _, label, _ in kept], _weights(weight_of, kept_x)
            )
            return evaluate(model, test_x, test_y, version)
    model, _ = registry.classifier(current["name"], version)
    return evaluate(model, test_x, test_y, version).model_copy(update={"method": "stored"})
