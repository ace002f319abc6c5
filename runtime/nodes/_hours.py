"""Business hours: durations that count only working time ("Mon-Fri 09:00-17:00 Europe/Berlin").

A checkpoint's ``business_hours`` makes its SLA and its escalation steps count working time
in the given zone (daylight saving included, through :mod:`zoneinfo`); without it they
count calendar time. Times go in and out as naive UTC, as the store keeps them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_SPEC = re.compile(
    r"^\s*([A-Za-z]{3})(?:\s*-\s*([A-Za-z]{3}))?\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})"
    r"\s+([A-Za-z_]+(?:/[A-Za-z0-9_+\-]+)*)\s*$"
)
#: The most working days one duration may span (about 40 years of a five-day week):
#: counting stays bounded whatever the duration.
MAX_WORKING_DAYS = 10_000


@dataclass(frozen=True)
class BusinessHours:
    """Working days (0 = Monday), the daily opening and closing time, and the zone."""

    days: frozenset[int]
    opens: time
    closes: time
    zone: ZoneInfo

    @property
    def per_day(self) -> timedelta:
        """Working time in one working day."""
        return datetime.combine(datetime.min, self.closes) - datetime.combine(
            datetime.min, self.opens
        )

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """``start`` (naive UTC) plus ``duration`` of working time, as naive UTC.

        Raises:
            ValueError: the duration spans more than :data:`MAX_WORKING_DAYS` working days.
        """
        if duration / self.per_day > MAX_WORKING_DAYS:
            raise ValueError(
                f"{duration} of business hours spans more than {MAX_WORKING_DAYS:,} working "
                "days (limit: MAX_WORKING_DAYS in runtime/nodes/_hours.py); use a shorter one"
            )
        local = start.replace(tzinfo=UTC).astimezone(self.zone)
        left = duration
        day = local.date()
        for _ in range(MAX_WORKING_DAYS * 7 // len(self.days) + 8):
            if day.weekday() in self.days:
                opens = datetime.combine(day, self.opens, self.zone)
                closes = datetime.combine(day, self.closes, self.zone)
                begin = max(opens, local)
                if begin < closes:
                    if begin + left <= closes:
                        return (begin + left).astimezone(UTC).replace(tzinfo=None)
                    left -= closes - begin
            day += timedelta(days=1)
        raise ValueError("business hours: the duration could not be placed")  # unreachable


def parse_business_hours(text: str) -> BusinessHours:
    """``Mon-Fri 09:00-17:00 Europe/Berlin`` (or one day: ``Sat 10:00-14:00 UTC``).

    Raises:
        ValueError: naming what is wrong, with an example.
    """
    example = "write e.g. Mon-Fri 09:00-17:00 Europe/Berlin"
    match = _SPEC.match(text or "")
    if not match:
        raise ValueError(f"{text!r} is not business hours; {example}")
    first, last, oh, om, ch, cm, zone = match.groups()
    try:
        a = _DAYS.index(first.lower())
        b = _DAYS.index((last or first).lower())
    except ValueError:
        raise ValueError(
            f"{text!r}: days are Mon, Tue, Wed, Thu, Fri, Sat, Sun; {example}"
        ) from None
    days = frozenset((a + i) % 7 for i in range((b - a) % 7 + 1))
    try:
        opens, closes = time(int(oh), int(om)), time(int(ch), int(cm))
    except ValueError:
        raise ValueError(f"{text!r}: a time is not a clock time (00:00 to 23:59)") from None
    if closes <= opens:
        raise ValueError(f"{text!r}: the closing time must be after the opening time")
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{text!r}: {zone!r} is not a time zone; use an IANA name like Europe/Berlin or UTC"
        ) from None
    return BusinessHours(days, opens, closes, tz)


def add_time(start: datetime, duration: timedelta, hours: str | None) -> datetime:
    """``start + duration`` in calendar time, or in working time when ``hours`` is set."""
    if not hours:
        return start + duration
    return parse_business_hours(hours).add(start, duration)
