"""Ages and deadlines as a reviewer reads them: "3h 5m", "2d left", "overdue by 40m"."""

from __future__ import annotations

from datetime import datetime, timedelta


def span(delta: timedelta) -> str:
    """A duration in its two largest units: ``2d 4h``, ``3h 5m``, ``40m``, ``<1m``.

    Args:
        delta: the duration (its sign is ignored).

    Returns:
        The text.
    """
    minutes = int(abs(delta).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {mins}m" if mins else f"{hours}h"
    return f"{mins}m" if mins else "<1m"


def age(created_at: datetime, now: datetime) -> str:
    """How long a review has waited.

    Args:
        created_at: when it was created (naive UTC, as the store keeps times).
        now: the current time (naive UTC).

    Returns:
        ``span(now - created_at)``.
    """
    return span(now - created_at)


def time_left(deadline: datetime | None, now: datetime) -> tuple[str, bool]:
    """What is left before a review's deadline.

    Args:
        deadline: the deadline (naive UTC), or None.
        now: the current time (naive UTC).

    Returns:
        ``(text, overdue)``: ``("no deadline", False)``, ``("2h 5m left", False)`` or
        ``("overdue by 40m", True)``.
    """
    if deadline is None:
        return "no deadline", False
    if deadline <= now:
        return f"overdue by {span(now - deadline)}", True
    return f"{span(deadline - now)} left", False


def due(review: dict, now: datetime) -> tuple[str, str, bool]:
    """What a reviewer reads about when a review is due: its SLA when it has one (the
    time a decision should take), else its deadline.

    Args:
        review: the review row (``due_at``, ``deadline``).
        now: the current time (naive UTC).

    Returns:
        ``(label, text, overdue)``, e.g. ``("SLA", "2h left", False)`` or
        ``("Deadline", "overdue by 40m", True)``.
    """
    if review.get("due_at") is not None:
        text, overdue = time_left(review["due_at"], now)
        return "SLA", text, overdue
    text, overdue = time_left(review.get("deadline"), now)
    return "Deadline", text, overdue


AGES: dict[str, timedelta | None] = {
    "any age": None,
    "older than 1 hour": timedelta(hours=1),
    "older than 1 day": timedelta(days=1),
    "older than 1 week": timedelta(days=7),
}
"""The age filter's choices and the waiting time each means."""
