"""The one filter every analytics query takes, who may read analytics, and the result shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from runtime import access
from runtime.access import User
from runtime.errors import AccessError
from runtime.store.contract import AnalyticsScope

READ_ROLES = ("auditor", "reviewer")
"""Who may read analytics besides admins: auditors everything, reviewers their teams'."""


class AnalyticsFilter(BaseModel):
    """What a dashboard query covers; every field left empty filters nothing.

    Times are UTC; an aware time is converted, a naive one is taken as UTC. The window is
    ``since <= t < until``; which time ``t`` is, each query says (decided, created,
    finished).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    workflow_id: str | None = Field(None, min_length=1, max_length=200)
    workflow_version: int | None = Field(None, ge=1)
    node_id: str | None = Field(None, min_length=1, max_length=200)
    team: str | None = Field(None, min_length=1, max_length=200)
    reviewer: str | None = Field(None, min_length=1, max_length=200)
    since: datetime | None = None
    until: datetime | None = None

    @field_validator("since", "until")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            return value.astimezone(UTC).replace(tzinfo=None)
        return value

    @model_validator(mode="after")
    def _window(self) -> AnalyticsFilter:
        if self.since and self.until and self.since >= self.until:
            raise ValueError(
                f"the window is empty: since ({self.since:%Y-%m-%d %H:%M}) must be before "
                f"until ({self.until:%Y-%m-%d %H:%M})"
            )
        if self.workflow_version is not None and self.workflow_id is None:
            raise ValueError("workflow_version needs workflow_id: pick the workflow first")
        return self

    def previous(self) -> AnalyticsFilter | None:
        """The same filter over the period of equal length just before, or None when the
        window is open at either end."""
        if self.since is None or self.until is None:
            return None
        length = self.until - self.since
        return self.model_copy(update={"since": self.since - length, "until": self.since})

    def length(self) -> timedelta | None:
        """The window's length, or None when it is open."""
        return self.until - self.since if self.since and self.until else None


def last_days(days: int, now: datetime, **filters: Any) -> AnalyticsFilter:
    """A filter over the ``days`` days up to ``now`` (and the given filters).

    Args:
        days: the window's length in days (at least 1).
        now: its end.
        **filters: the other fields of :class:`AnalyticsFilter`.
    """
    if days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    return AnalyticsFilter(since=now - timedelta(days=days), until=now, **filters)


def scope_for(user: User | None, f: AnalyticsFilter) -> AnalyticsScope:
    """Check a user may read analytics and turn a filter into the store's scope.

    Admins and auditors read everything; reviewers only the reviews of their teams (and
    those with no team), and the runs of workflows with such reviews. ``None`` is the local
    trusted caller.

    Raises:
        AccessError: the user may not read analytics, or asks for a team not theirs.
    """
    teams: tuple[str, ...] | None = None
    if user is not None:
        access.authorize(user, user["name"], roles=READ_ROLES, what="read analytics")
        visible = access.review_teams(user)
        if visible is not None:
            if f.team is not None and f.team not in visible:
                raise AccessError(
                    f"user {user['name']} may not read analytics of team {f.team} "
                    f"(their teams: {', '.join(visible) or 'none'})"
                )
            teams = tuple(visible)
    return AnalyticsScope(
        workflow_id=f.workflow_id,
        workflow_version=f.workflow_version,
        node_id=f.node_id,
        team=f.team,
        reviewer=f.reviewer,
        since=f.since,
        until=f.until,
        teams=teams,
    )


Unit = Literal["share", "seconds", "count"]


class Figure(BaseModel):
    """One named query's answer: a headline value, its table, and what it means.

    Attributes:
        name: the query's name (a key of ``QUERIES``).
        title: what the figure is, for a heading.
        unit: ``share`` (0 to 1), ``seconds`` or ``count``.
        value: the headline figure; None when there is nothing to count.
        summary: further figures (counts, p95, ...).
        rows: the table behind the chart (and its CSV download).
        note: what is counted, in one or two sentences.
        ignored_filters: filters that do not apply to this query (and were not applied).
    """

    name: str
    title: str
    unit: Unit
    value: float | None
    summary: dict[str, Any] = Field(default_factory=dict)
    rows: list[dict[str, Any]] = Field(default_factory=list)
    note: str = ""
    ignored_filters: list[str] = Field(default_factory=list)


def share(part: float, whole: float) -> float | None:
    """``part / whole``, or None when ``whole`` is 0."""
    return part / whole if whole else None


def ignored(f: AnalyticsFilter, *names: str) -> list[str]:
    """The filters among ``names`` that ``f`` sets (they do not apply to a query)."""
    return [n for n in names if getattr(f, n) is not None]
