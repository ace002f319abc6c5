"""The dashboards' named queries, each ``(store, user, filter) -> Figure``.

"People's decisions" are reviews a user decided (not ``system``, which acts at
deadlines). Approvals are ``approve``, ``edit`` (edit, then approve) and ``accept``;
rejections ``reject`` and ``revise``; ``submit`` and ``escalate`` are neither.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Any

from runtime.access import User
from runtime.queries.analytics.filters import AnalyticsFilter, Figure, ignored, scope_for, share

if TYPE_CHECKING:
    from runtime.store.contract import Store

APPROVE = frozenset({"approve", "edit", "accept"})
REJECT = frozenset({"reject", "revise"})
AGE_EDGES: tuple[tuple[str, float], ...] = (
    ("under 1 h", 3600.0),
    ("1-4 h", 4 * 3600.0),
    ("4-24 h", 24 * 3600.0),
    ("1-3 days", 3 * 86400.0),
)
AGE_LAST = "over 3 days"


def _people(rows: list[dict[str, Any]]) -> Counter[str]:
    """People's decisions per action."""
    out: Counter[str] = Counter()
    for r in rows:
        if not r["by_system"] and r["action"]:
            out[r["action"]] += r["n"]
    return out


def approval_rate(store: Store, user: User | None, f: AnalyticsFilter) -> Figure:
    """Share of people's approve-or-reject decisions that approved (edits count as
    approvals), by decision time."""
    actions = _people(store.decision_outcomes(scope_for(user, f)))
    approved = sum(actions[a] for a in APPROVE)
    rejected = sum(actions[a] for a in REJECT)
    return Figure(
        name="approval_rate",
        title="Approval rate",
        unit="share",
        value=share(approved, approved + rejected),
        summary={"approved": approved, "rejected": rejected, "edited": actions["edit"]},
        rows=[{"outcome": "approved", "n": approved}, {"outcome": "rejected", "n": rejected}],
        note="People's decisions that approved (approve, edit then approve, accept) out of "
        "those that approved or rejected; deadline defaults are left out.",
    )


def edit_rate(store: Store, user: User | None, f: AnalyticsFilter) -> Figure:
    """Share of people's approve-or-reject decisions that edited the data first."""
    actions = _people(store.decision_outcomes(scope_for(user, f)))
    judged = sum(actions[a] for a in APPROVE | REJECT)
    return Figure(
        name="edit_rate",
        title="Edit rate",
        unit="share",
        value=share(actions["edit"], judged),
        summary={"edited": actions["edit"], "decisions": judged},
        rows=[{"action": a, "n": actions[a]} for a in sorted(APPROVE | REJECT) if actions[a]],
        note="People's decisions that edited fields (then approved) out of those that "
        "approved or rejected.",
    )


def override_rate(store: Store, user: User | None, f: AnalyticsFilter) -> Figure:
    """Share of people's decisions on AI output that changed it or turned it down."""
    counts = store.ai_judgments(scope_for(user, f))
    judged, overridden = counts["judged"], counts["overridden"]
    return Figure(
        name="override_rate",
        title="Override rate",
        unit="share",
        value=share(overridden, judged),
        summary={"overridden": overridden, "judged": judged},
        rows=[
            {"outcome": "kept the AI's output", "n": judged - overridden},
            {"outcome": "overrode it", "n": overridden},
        ],
        note="People's decisions on AI output (confidence gates, feedback checkpoints, "
        "and any decision that recorded a correction) that rejected or revised it or "
        "corrected a field. An approval checkpoint that kept the AI's output unchanged "
        "records no AI judgment, so it is not counted.",
    )


def rejection_reasons(store: Store, user: User | None, f: AnalyticsFilter) -> Figure:
    """Rejections per reason code (people's and deadline defaults)."""
    reasons: Counter[str] = Counter()
    for r in store.decision_outcomes(scope_for(user, f)):
        if r["action"] in REJECT:
            reasons[r["reason"] or "(no reason)"] += r["n"]
    total = sum(reasons.values())
    return Figure(
        name="rejection_reasons",
        title="Rejection reasons",
        unit="count",
        value=total if total else None,
        summary={"rejections": total},
        rows=[
            {"reason": reason, "n": n, "share": n / total}
            for reason, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        note="Rejections and revisions per reason code, including rejections a deadline "
        "made by default (reason 'deadline' or the checkpoint's first code).",
    )


def timeout_rate(store: Store, user: User | None, f: AnalyticsFilter) -> Figure:
    """Share of settled reviews a deadline settled: timed out, decided by default, or
    escalated."""
    by: Counter[str] = Counter()
    settled = 0
    for r in store.decision_outcomes(scope_for(user, f)):
        settled += r["n"]
        if r["by_system"]:
            kind = {"timeout": "timed out", "escalate": "escalated at the deadline"}.get(
                r["action"], "decided by default"
            )
            by[kind] += r["n"]
    total = sum(by.values())
    return Figure(
        name="timeout_rate",
        title="Timeout and default-decision rate",
        unit="share",
        value=share(total, settled),
        summary={
            "timed_out": by["timed out"],
            "defaulted": by["decided by default"],
            "escalated": by["escalated at the deadline"],
            "settled": settled,
        },
        rows=[
            {"outcome": k, "n": by[k]}
            for k in ("timed out", "decided by default", "escalated at the deadline")
        ]
        + [{"outcome": "decided by a person", "n": settled - total}],
        note="Reviews settled in the window whose deadline passed first, out of every "
        "settled review.",
    )


def time_to_decision(store: Store, user: User | None, f: AnalyticsFilter) -> Figure:
    """Median and 95th percentile of the time from request to a person's decision."""
    s = store.decision_time_stats(scope_for(user, f))
    return Figure(
        name="time_to_decision",
        title="Time to decision",
        unit="seconds",
        value=s["p50"],
        summary=s,
        rows=[{"statistic": k, "seconds": s[k]} for k in ("p50", "p95", "mean")],
        note="Seconds from the review's request to a person's decision (p50 is the "
        "median), decisions by the deadline left out.",
    )


def backlog(
    store: Store, user: User | None, f: AnalyticsFilter, *, now: datetime | None = None
) -> Figure:
    """Reviews pending at the window's end (or ``now``), per age."""
    at = f.until or now
    if at is None:
        raise ValueError("backlog needs the filter's until or now: the time it is taken at")
    scope = scope_for(user, f.model_copy(update={"until": at}))
    counts = {r["bucket"]: r for r in store.backlog_ages(scope, [e for _, e in AGE_EDGES])}
    labels = [label for label, _ in AGE_EDGES] + [AGE_LAST]
    rows = [{"age": label, "n": counts.get(i, {}).get("n", 0)} for i, label in enumerate(labels)]
    total = sum(r["n"] for r in rows)
    oldest = max((r["oldest"] for r in counts.values()), default=None)
    return Figure(
        name="backlog",
        title="Backlog by age",
        unit="count",
        value=total,
        summary={"pending": total, "oldest_seconds": oldest, "as_of": at.isoformat()},
        rows=rows,
        note=f"Reviews waiting at {at:%Y-%m-%d %H:%M} UTC (the period's end) by how long "
        "they had waited; the reviewer filter picks reviews assigned to that person.",
    )


def _bucket(f: AnalyticsFilter) -> str:
    length = f.length()
    if length is None:
        return "day"
    days = length.total_seconds() / 86400
    return "hour" if days <= 2 else "day" if days <= 92 else "week"


def automation_rate(store: Store, user: User | None, f: AnalyticsFilter) -> Figure:
    """Share of finished runs that needed no person, per period and overall."""
    bucket = _bucket(f)
    series = store.automation_series(scope_for(user, f), bucket)  # type: ignore[arg-type]
    finished = sum(r["finished"] for r in series)
    automated = sum(r["automated"] for r in series)
    return Figure(
        name="automation_rate",
        title="Automation rate",
        unit="share",
        value=share(automated, finished),
        summary={"finished": finished, "automated": automated, "bucket": bucket},
        rows=[{**r, "rate": share(r["automated"], r["finished"])} for r in series],
        note=f"Runs that finished (succeeded or failed) with no review at all, per {bucket} "
        "of their finish time.",
        ignored_filters=ignored(f, "node_id", "team", "reviewer"),
    )


def escalations(store: Store, user: User | None, f: AnalyticsFilter) -> Figure:
    """Escalated reviews per team they went to and what escalated them."""
    rows = store.escalation_counts(scope_for(user, f))
    total = sum(r["n"] for r in rows)
    return Figure(
        name="escalations",
        title="Escalations by team",
        unit="count",
        value=total if total else None,
        summary={"escalations": total},
        rows=[{**r, "team": r["team"] or "(no team)"} for r in rows],
        note="Reviews created in the window by an escalation, per team they went to: by a "
        "reviewer, at a deadline, or by an escalation checkpoint's rule.",
        ignored_filters=ignored(f, "reviewer"),
    )


def choice_shares(store: Store, user: User | None, f: AnalyticsFilter) -> Figure:
    """How often each option of each ``choice`` checkpoint was picked, and its share."""
    rows = store.choice_counts(scope_for(user, f))
    per_node: Counter[tuple[str, str]] = Counter()
    for r in rows:
        per_node[(r["workflow_id"], r["node_id"])] += r["n"]
    out = [
        {
            "checkpoint": f"{r['workflow_id']}/{r['node_id']}",
            "option": r["option"],
            "n": r["n"],
            "share": r["n"] / per_node[(r["workflow_id"], r["node_id"])],
        }
        for r in rows
    ]
    total = sum(per_node.values())
    return Figure(
        name="choice_shares",
        title="Choices per option",
        unit="count",
        value=total if total else None,
        summary={"picks": total, "checkpoints": len(per_node)},
        rows=out,
        note="Options picked at choice checkpoints, by people and by deadline defaults; "
        "share is within its checkpoint. A pick of several options counts each.",
    )


def throughput(store: Store, user: User | None, f: AnalyticsFilter) -> Figure:
    """People's decisions per reviewer (and per day when the window is closed)."""
    rows = store.reviewer_throughput(scope_for(user, f))
    length = f.length()
    days = length.total_seconds() / 86400 if length else None
    for r in rows:
        r["per_day"] = r["decisions"] / days if days else None
    total = sum(r["decisions"] for r in rows)
    return Figure(
        name="throughput",
        title="Throughput per reviewer",
        unit="count",
        value=total if total else None,
        summary={"decisions": total, "reviewers": len(rows)},
        rows=rows,
        note="People's decisions per reviewer, with the median seconds each took.",
    )
