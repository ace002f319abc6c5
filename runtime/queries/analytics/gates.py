"""Confidence gates: calibration (did people agree with confident output?) and the
threshold what-if (replay the recorded decisions at another threshold).

What is observable: a gate sends every item below its threshold to a person, and above it
only its random audit sample. So every item below the current threshold has a person's
verdict; above it, only the sampled ones do, and the errors among the rest are estimated
from the sample (or unknown without one). Both results say so.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from runtime.access import User
from runtime.errors import NotFoundError
from runtime.queries.analytics.filters import AnalyticsFilter, Figure, ignored, scope_for, share

if TYPE_CHECKING:
    from runtime.store.contract import Store

MILLI = 1000
BINS = 10


def calibration(store: Store, user: User | None, f: AnalyticsFilter) -> Figure:
    """Per confidence bucket of the AI output confidence gates judged: how often the person
    agreed, and the expected calibration error (ECE).

    ECE is ``sum(n_b / N * |agreement_b - mean confidence_b|)`` over ten equal-width
    buckets. Only reviewed items have a verdict, so the buckets above a gate's threshold
    hold just its audit sample.
    """
    rows = store.judged_confidences(scope_for(user, f))
    return calibration_figure(rows, ignored_filters=[])


def calibration_figure(
    rows: list[dict[str, Any]], *, ignored_filters: list[str] | None = None
) -> Figure:
    """The calibration figure from ``judged_confidences`` rows (pure).

    Args:
        rows: ``milli, sampled, n, overridden, confidence_sum`` per group.
        ignored_filters: filters the caller did not apply.
    """
    n_b: dict[int, int] = defaultdict(int)
    agree_b: dict[int, int] = defaultdict(int)
    conf_b: dict[int, float] = defaultdict(float)
    for r in rows:
        b = min(BINS - 1, r["milli"] * BINS // MILLI)
        n_b[b] += r["n"]
        agree_b[b] += r["n"] - r["overridden"]
        conf_b[b] += r["confidence_sum"]
    total = sum(n_b.values())
    table, ece = [], 0.0
    for b in sorted(n_b):
        agreement, mean = agree_b[b] / n_b[b], conf_b[b] / n_b[b]
        ece += n_b[b] / total * abs(agreement - mean)
        table.append(
            {
                "bucket": f"{b / BINS:.1f}-{(b + 1) / BINS:.1f}",
                "n": n_b[b],
                "mean_confidence": mean,
                "agreement": agreement,
                "gap": agreement - mean,
            }
        )
    return Figure(
        name="calibration",
        title="Confidence calibration",
        unit="share",
        value=ece if total else None,
        summary={"ece": ece if total else None, "judged": total},
        rows=table,
        note="Confidence-gate reviews by a person, per bucket of the AI's confidence: the "
        "share where the person kept the AI's output (agreement) against the mean "
        "confidence; the headline is the expected calibration error. Items above a gate's "
        "threshold are seen only through its audit sample.",
        ignored_filters=ignored_filters or [],
    )


class WhatIfPoint(BaseModel):
    """The gate replayed at one threshold.

    Attributes:
        threshold: the threshold.
        reviews: items below it (a person would review them; audit samples not counted).
        reviews_saved: reviews at the current threshold minus ``reviews`` (negative: more).
        passed: items at or above it (they would pass without a person).
        slipped_observed: of those, items a person reviewed and corrected (rejected or
            edited): known.
        slipped_estimated: of those, the errors expected among items nobody reviewed,
            from the audit sample's error rate; None when no sample covers them.
        error_rate: (observed + estimated) / passed; with no estimate, a lower bound.
        lower_bound: True when ``error_rate`` leaves out unreviewed items' errors (no
            audit sample to estimate them from).
    """

    threshold: float
    reviews: int
    reviews_saved: int
    passed: int
    slipped_observed: int
    slipped_estimated: float | None
    error_rate: float | None
    lower_bound: bool


class WhatIf(BaseModel):
    """A confidence gate's recorded decisions replayed over thresholds.

    Attributes:
        workflow_id, node_id: the gate.
        current_threshold: its threshold in the workflow (the version filtered, else the
            newest); ``sample_rate`` its audit sample.
        target_error_rate: the error rate the recommendation must meet.
        recommended: the lowest threshold whose error rate meets the target (None: none
            does); ``recommended_is_estimate`` when that rests on the sample estimate.
        reviewed, corrected: items a person decided at the gate and those they corrected.
        passed_unreviewed: items the gate passed with no person.
        sampled, sampled_corrected: audit-sampled items and the corrected ones among them.
        points: the curve, lowest threshold first (includes the current one).
        notes: what the figures can and cannot know.
    """

    workflow_id: str
    node_id: str
    current_threshold: float
    sample_rate: float
    target_error_rate: float
    recommended: float | None
    recommended_is_estimate: bool
    reviewed: int
    corrected: int
    passed_unreviewed: int
    sampled: int
    sampled_corrected: int
    points: list[WhatIfPoint]
    notes: list[str] = Field(default_factory=list)

    def current(self) -> WhatIfPoint:
        """The point at the current threshold."""
        return next(p for p in self.points if p.threshold == self.current_threshold)


def replay(
    reviewed: list[dict[str, Any]],
    passes: list[dict[str, Any]],
    *,
    threshold: float,
    target_error_rate: float,
    thresholds: list[float] | None = None,
) -> tuple[list[WhatIfPoint], float | None, bool]:
    """The what-if curve from a gate's recorded items (pure).

    Args:
        reviewed: ``milli, sampled, n, overridden`` of decided reviews at the gate.
        passes: ``milli, n`` of items it passed with no review.
        threshold: the current threshold.
        target_error_rate: the error rate to meet.
        thresholds: where to evaluate (default 0.00, 0.01, ..., 1.00); the current
            threshold is always added.

    Returns:
        The points, the lowest threshold meeting the target (or None), and whether that
        rests on an estimate.
    """
    grid = sorted({*(thresholds or [i / 100 for i in range(101)]), threshold})
    arrived: dict[int, int] = defaultdict(int)
    corrected: dict[int, int] = defaultdict(int)
    unreviewed: dict[int, int] = defaultdict(int)
    sample_n: dict[int, int] = defaultdict(int)
    sample_bad: dict[int, int] = defaultdict(int)
    for r in reviewed:
        arrived[r["milli"]] += r["n"]
        corrected[r["milli"]] += r["overridden"]
        if r["sampled"]:
            sample_n[r["milli"]] += r["n"]
            sample_bad[r["milli"]] += r["overridden"]
    for r in passes:
        arrived[r["milli"]] += r["n"]
        unreviewed[r["milli"]] += r["n"]

    def at_or_above(counts: dict[int, int], t: float) -> int:
        cut = round(t * MILLI)
        return sum(n for m, n in counts.items() if m >= cut)

    def below(t: float) -> int:
        return sum(arrived.values()) - at_or_above(arrived, t)

    current_reviews = below(threshold)
    points = []
    for t in grid:
        passed = at_or_above(arrived, t)
        observed = at_or_above(corrected, t)
        hidden = at_or_above(unreviewed, t)
        sampled = at_or_above(sample_n, max(t, threshold))
        estimate = (
            hidden * at_or_above(sample_bad, max(t, threshold)) / sampled
            if sampled
            else (0.0 if hidden == 0 else None)
        )
        points.append(
            WhatIfPoint(
                threshold=t,
                reviews=below(t),
                reviews_saved=current_reviews - below(t),
                passed=passed,
                slipped_observed=observed,
                slipped_estimated=estimate,
                error_rate=share(observed + (estimate or 0.0), passed),
                lower_bound=estimate is None,
            )
        )
    meeting = [p for p in points if p.error_rate is not None and p.error_rate <= target_error_rate]
    best = meeting[0] if meeting else None
    return (
        points,
        best.threshold if best else None,
        bool(best and (best.lower_bound or best.slipped_estimated)),
    )


def gate_params(store: Store, workflow_id: str, node_id: str, version: int | None) -> dict:
    """A confidence gate's parameters in a workflow version (the newest without one).

    Raises:
        NotFoundError: no such workflow, or the node is not a confidence gate in it.
    """
    spec = store.get_workflow(workflow_id, version)["spec"]
    for node in spec.get("nodes", []):
        if node.get("id") == node_id and node.get("type") == "confidence_gate":
            return dict(node.get("params") or {})
    raise NotFoundError(
        f"{workflow_id} has no confidence gate {node_id!r}"
        f"{f' in version {version}' if version else ''}; pick one of its confidence_gate nodes"
    )


def confidence_gates(store: Store) -> list[tuple[str, str]]:
    """Every (workflow id, node id) of a confidence gate in the newest workflow versions."""
    out = []
    for wf in store.list_workflows():
        spec = store.get_workflow(wf["id"])["spec"]
        for node in spec.get("nodes", []):
            if node.get("type") == "confidence_gate":
                out.append((wf["id"], node["id"]))
    return out


def threshold_what_if(
    store: Store, user: User | None, f: AnalyticsFilter, *, target_error_rate: float = 0.05
) -> WhatIf:
    """Replay a confidence gate's recorded decisions at other thresholds.

    The filter must name the workflow and the gate (``node_id``); its version and window
    apply, its team and reviewer do not (items that passed had neither).

    Raises:
        ValueError: no workflow or node in the filter, or a target outside 0..1.
        NotFoundError: the node is not a confidence gate of that workflow.
        AccessError: the user may not read analytics.
    """
    if f.workflow_id is None or f.node_id is None:
        raise ValueError("the what-if needs a workflow and its confidence gate (node)")
    if not 0 <= target_error_rate <= 1:
        raise ValueError(f"target error rate must be between 0 and 1, not {target_error_rate}")
    params = gate_params(store, f.workflow_id, f.node_id, f.workflow_version)
    scope = scope_for(user, f.model_copy(update={"team": None, "reviewer": None}))
    reviewed = store.judged_confidences(scope)
    passes = store.gate_passes(scope)
    threshold = float(params.get("threshold") or 0.0)  # a target_error gate has none
    points, best, estimated = replay(
        reviewed, passes, threshold=threshold, target_error_rate=target_error_rate
    )
    sampled = sum(r["n"] for r in reviewed if r["sampled"])
    notes = [
        f"Items at or above the current threshold ({threshold:.2f}) were never reviewed "
        "unless the audit sample picked them: their errors are estimated from the sample, "
        "or unknown without one.",
        "Reviews counted are those the threshold causes; the audit sample adds its share at "
        "every threshold.",
    ]
    if not sampled:
        notes.append(
            "This gate has no audit sample (sample_rate 0 or no sampled item decided): the "
            "error rate above the current threshold is a lower bound (it assumes no errors "
            "there). Set sample_rate to measure it."
        )
    if ignored(f, "team", "reviewer"):
        notes.append("The team and reviewer filters do not apply: passed items had neither.")
    return WhatIf(
        workflow_id=f.workflow_id,
        node_id=f.node_id,
        current_threshold=threshold,
        sample_rate=float(params.get("sample_rate", 0.0)),
        target_error_rate=target_error_rate,
        recommended=best,
        recommended_is_estimate=estimated,
        reviewed=sum(r["n"] for r in reviewed),
        corrected=sum(r["overridden"] for r in reviewed),
        passed_unreviewed=sum(r["n"] for r in passes),
        sampled=sampled,
        sampled_corrected=sum(r["overridden"] for r in reviewed if r["sampled"]),
        points=points,
        notes=notes,
    )
