"""Business hours: SLAs and escalation steps that count working time in a time zone."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from runtime.nodes._hours import add_time, parse_business_hours
from tests.runtime.nodes.helpers import problems_of

BERLIN = "Mon-Fri 09:00-17:00 Europe/Berlin"


def test_working_time_skips_nights_and_weekends_in_the_zone():
    hours = parse_business_hours(BERLIN)
    friday_4pm_berlin = datetime(2026, 12, 4, 15, 0)  # UTC (CET is UTC+1)
    # 1h on Friday, 3h on Monday from 09:00 Berlin: Monday 12:00 Berlin, 11:00 UTC
    assert hours.add(friday_4pm_berlin, timedelta(hours=4)) == datetime(2026, 12, 7, 11, 0)
    saturday = datetime(2026, 12, 5, 12, 0)
    assert hours.add(saturday, timedelta(hours=1)) == datetime(2026, 12, 7, 9, 0)
    # summer time: 09:00 Berlin is 07:00 UTC
    assert hours.add(datetime(2026, 7, 6, 0, 0), timedelta(minutes=30)) == datetime(
        2026, 7, 6, 7, 30
    )
    assert add_time(saturday, timedelta(hours=1), None) == datetime(2026, 12, 5, 13, 0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("9 to 5", "is not business hours; write e.g. Mon-Fri 09:00-17:00 Europe/Berlin"),
        ("Mon-Fri 09:00-17:00 Mars/Base", "'Mars/Base' is not a time zone"),
        ("Mon-Fri 17:00-09:00 UTC", "the closing time must be after the opening time"),
        ("Mon-Fri 09:00-25:00 UTC", "a time is not a clock time"),
        ("Mon-Fro 09:00-17:00 UTC", "days are Mon, Tue, Wed, Thu, Fri, Sat, Sun"),
    ],
)
def test_bad_business_hours_are_refused_by_the_checker(text, message):
    problems = problems_of("approval", team="t", sla="8h", business_hours=text)
    assert any(message in p for p in problems), problems


def test_a_huge_duration_is_refused_not_counted_forever():
    hours = parse_business_hours("Sat 10:00-11:00 UTC")
    with pytest.raises(ValueError, match="MAX_WORKING_DAYS"):
        hours.add(datetime(2026, 1, 1), timedelta(weeks=5000))
