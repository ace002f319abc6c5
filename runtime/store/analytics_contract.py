"""The analytics part of the store contract: aggregate reads for the dashboards.

Kept apart from :mod:`runtime.store.contract` (which re-exports both names) so each
stays small; a backend implements :class:`AnalyticsReads` with the same SQL semantics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol


@dataclass(frozen=True)
class AnalyticsScope:
    """Which rows an analytics read covers; None filters nothing.

    Attributes:
        workflow_id, workflow_version, node_id, team: equality filters on the review (or
            run) columns of those names.
        reviewer: who decided (for pending reviews: the assignee).
        since, until: the time window, ``since <= t < until`` (UTC); which time ``t`` is
            depends on the read (decided, created, finished).
        teams: the access rule of a user who may not see everything: only reviews with no
            team or a team in this list (runs: of workflows with such a review).
    """

    workflow_id: str | None = None
    workflow_version: int | None = None
    node_id: str | None = None
    team: str | None = None
    reviewer: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    teams: tuple[str, ...] | None = None


class AnalyticsReads(Protocol):
    """Aggregates the dashboards read (``runtime.queries.analytics`` turns them into
    figures); small results only, the aggregation happens in the database.

    "People's decisions" are reviews decided by a user (not ``system``, the deadline).
    """

    def decision_outcomes(self, scope: AnalyticsScope) -> list[dict[str, Any]]:
        """Settled reviews (decided or expired) with ``decided_at`` in the window, counted
        per ``action, by_system, reason``: rows of those and ``n``."""
        ...

    def decision_time_stats(self, scope: AnalyticsScope) -> dict[str, Any]:
        """People's decisions in the window: ``n, p50, p95, mean`` seconds from request to
        decision (None without decisions)."""
        ...

    def backlog_ages(self, scope: AnalyticsScope, edges: Sequence[float]) -> list[dict[str, Any]]:
        """Reviews pending at ``scope.until`` (created by then, not settled by then),
        counted per age bucket: ``bucket`` i counts ages below ``edges[i]`` and at or above
        the edge before (the last bucket: at or above the last edge); ``oldest`` seconds."""
        ...

    def automation_series(
        self, scope: AnalyticsScope, bucket: Literal["hour", "day", "week"]
    ) -> list[dict[str, Any]]:
        """Runs finished in the window per period: ``period, finished, automated`` (runs
        with no review at all), oldest first."""
        ...

    def escalation_counts(self, scope: AnalyticsScope) -> list[dict[str, Any]]:
        """Escalated reviews created in the window per ``team`` (where they went) and
        ``source`` (``reviewer``, ``deadline``, or ``rule``: an escalation checkpoint)."""
        ...

    def reviewer_throughput(self, scope: AnalyticsScope) -> list[dict[str, Any]]:
        """People's decisions in the window per ``reviewer``: ``decisions, approved,
        rejected, edited, escalated, median_seconds``, most decisions first."""
        ...

    def choice_counts(self, scope: AnalyticsScope) -> list[dict[str, Any]]:
        """Options picked at ``choice`` checkpoints in the window (by people and by
        deadline defaults) per ``workflow_id, node_id, option``: ``n``. A decision that
        picked several options counts once for each."""
        ...

    def ai_judgments(self, scope: AnalyticsScope) -> dict[str, int]:
        """People's decisions (not escalations) in the window on AI output: at a
        ``confidence_gate`` or ``feedback`` checkpoint or with feedback rows. ``judged``,
        and ``overridden``: rejected, revised, or with a correction recorded."""
        ...

    def judged_confidences(self, scope: AnalyticsScope) -> list[dict[str, Any]]:
        """People's decisions (not escalations) on reviews that show a ``confidence``
        (confidence gates), created in the window, per ``milli`` (floor of confidence *
        1000) and ``sampled`` (audit sample): ``n, overridden, confidence_sum``."""
        ...

    def gate_passes(self, scope: AnalyticsScope) -> list[dict[str, Any]]:
        """Items a gate (``scope.node_id``) passed with no review, in the window, per
        ``milli`` (floor of the confidence * 1000): ``n``. From the audit trail's steps."""
        ...

    def analytics_dimensions(self) -> dict[str, list[Any]]:
        """What the filters can choose: ``workflows`` (id, version), ``nodes`` (workflow
        id, node id, kind), ``teams``, ``reviewers``, from the reviews and runs."""
        ...
