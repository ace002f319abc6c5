"""The dashboards' named queries: rates, times, backlog, automation, escalations,
throughput, calibration, the KPI tiles and the confidence-gate threshold what-if.

Every query takes ``(store, user, filter)`` like the rest of :mod:`runtime.queries`:
``user`` None is the local trusted caller; otherwise admins and auditors read everything
and reviewers their teams' reviews (see :func:`~runtime.queries.analytics.filters.scope_for`);
anyone else gets an ``AccessError``. The filter is one :class:`AnalyticsFilter`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from runtime.access import User
from runtime.queries.analytics.filters import (
    AnalyticsFilter,
    Figure,
    last_days,
    scope_for,
)
from runtime.queries.analytics.gates import (
    WhatIf,
    WhatIfPoint,
    calibration,
    confidence_gates,
    replay,
    threshold_what_if,
)
from runtime.queries.analytics.metrics import (
    approval_rate,
    automation_rate,
    backlog,
    choice_shares,
    edit_rate,
    escalations,
    override_rate,
    rejection_reasons,
    throughput,
    time_to_decision,
    timeout_rate,
)

if TYPE_CHECKING:
    from runtime.store.contract import Store

Query = Callable[..., Figure]

QUERIES: dict[str, Query] = {
    "approval_rate": approval_rate,
    "override_rate": override_rate,
    "edit_rate": edit_rate,
    "rejection_reasons": rejection_reasons,
    "timeout_rate": timeout_rate,
    "time_to_decision": time_to_decision,
    "backlog": backlog,
    "automation_rate": automation_rate,
    "escalations": escalations,
    "throughput": throughput,
    "calibration": calibration,
    "choice_shares": choice_shares,
}
"""Every named dashboard query by name, each ``(store, user, filter) -> Figure``."""

KPI_NAMES = (
    "approval_rate",
    "override_rate",
    "automation_rate",
    "time_to_decision",
    "timeout_rate",
    "backlog",
)
"""The queries shown as KPI tiles, in order."""


class Kpi(BaseModel):
    """One KPI tile: this period's value against the previous period of equal length.

    Attributes:
        name, title, unit: the query's.
        value: this period's value (None: nothing to count).
        previous: the previous period's value (None: open window or nothing to count).
        change: ``value - previous`` (None when either is None).
    """

    name: str
    title: str
    unit: str
    value: float | None
    previous: float | None
    change: float | None


def run_query(
    store: Store, user: User | None, name: str, f: AnalyticsFilter, *, now: datetime
) -> Figure:
    """Run one named query (``now`` is the backlog's time when the filter has no end).

    Raises:
        ValueError: no query of that name (names the known ones).
    """
    query = QUERIES.get(name)
    if query is None:
        raise ValueError(f"no analytics query {name!r}; known: {', '.join(QUERIES)}")
    if name == "backlog":
        return backlog(store, user, f, now=now)
    return query(store, user, f)


def kpis(store: Store, user: User | None, f: AnalyticsFilter, *, now: datetime) -> list[Kpi]:
    """The KPI tiles: each of :data:`KPI_NAMES` now and over the previous period.

    Args:
        store: the store.
        user: the reader (see the module docstring).
        f: the filter; its window's length is the previous period's.
        now: the backlog's time when the filter has no end.
    """
    before = f.previous()
    out = []
    for name in KPI_NAMES:
        fig = run_query(store, user, name, f, now=now)
        prev = run_query(store, user, name, before, now=now).value if before else None
        change = fig.value - prev if fig.value is not None and prev is not None else None
        out.append(
            Kpi(
                name=name,
                title=fig.title,
                unit=fig.unit,
                value=fig.value,
                previous=prev,
                change=change,
            )
        )
    return out


def dimensions(store: Store, user: User | None) -> dict[str, Any]:
    """What the dashboard's filters offer: ``workflows`` {id: [versions]}, ``nodes``
    {workflow: [(node, kind)]}, ``gates`` {workflow: [node]}, ``teams``, ``reviewers``.

    Reviewers are offered only their own teams.

    Raises:
        AccessError: the user may not read analytics.
    """
    scope = scope_for(user, AnalyticsFilter())
    raw = store.analytics_dimensions()
    workflows: dict[str, list[int]] = {}
    for wf, version in raw["workflows"]:
        workflows.setdefault(wf, []).append(version)
    nodes: dict[str, list[tuple[str, str]]] = {}
    for wf, node, kind in raw["nodes"]:
        nodes.setdefault(wf, []).append((node, kind))
    gates: dict[str, list[str]] = {}
    for wf, node in confidence_gates(store):
        gates.setdefault(wf, []).append(node)
        workflows.setdefault(wf, [])
    teams = raw["teams"] if scope.teams is None else [t for t in raw["teams"] if t in scope.teams]
    return {
        "workflows": workflows,
        "nodes": nodes,
        "gates": gates,
        "teams": teams,
        "reviewers": raw["reviewers"],
    }


__all__ = [
    "KPI_NAMES",
    "QUERIES",
    "AnalyticsFilter",
    "Figure",
    "Kpi",
    "WhatIf",
    "WhatIfPoint",
    "dimensions",
    "kpis",
    "last_days",
    "replay",
    "run_query",
    "threshold_what_if",
]
