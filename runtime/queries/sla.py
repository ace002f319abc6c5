"""SLAs of waiting reviews: how many have one and how many are past it (the dashboard's
"overdue" tile), under the analytics access rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from runtime.access import User
from runtime.queries.analytics.filters import AnalyticsFilter, scope_for
from runtime.store.contract import Store


@dataclass(frozen=True)
class SlaCount:
    """Pending reviews with an SLA (``with_sla``) and those past it (``overdue``)."""

    with_sla: int
    overdue: int


def overdue_reviews(store: Store, user: User | None, now: datetime) -> SlaCount:
    """Count the pending reviews ``user`` may see that have an SLA, and the overdue ones.

    Args:
        store: the store.
        user: the reader (admins and auditors: all; reviewers: their teams' and those
            with no team or assigned to them); None for the local trusted caller.
        now: the time the SLAs are measured at.

    Raises:
        AccessError: the user may not read analytics.
    """
    scope = scope_for(user, AnalyticsFilter())
    teams = None if scope.teams is None else list(scope.teams)
    total, late = store.count_overdue_reviews(now, teams=teams, user=user["name"] if user else None)
    return SlaCount(with_sla=total, overdue=late)
