"""The COUNTER 5.1 reporting period and user-sessions (strongroom.domain.usage), property-tested."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strongroom.domain.usage import PeriodError, is_double_click, last_day, period, session_of

months = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2040, 12, 1)).map(lambda d: d.strftime("%Y-%m"))
days = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2040, 12, 31))


@given(months, months, days)
def test_a_period_is_whole_ended_months(begin: str, end: str, today: dt.date) -> None:
    current = today.strftime("%Y-%m")
    if begin > end or begin >= current:
        with pytest.raises(PeriodError):
            period(begin, end, today)
        return
    found = period(begin, end, today)
    assert found.begin_date == begin + "-01"
    end_date = dt.date.fromisoformat(found.end_date)
    assert end_date.strftime("%Y-%m") == found.months[-1] and (end_date + dt.timedelta(days=1)).day == 1
    assert found.months[-1] < current and found.months[-1] <= end
    assert found.not_ready == ((current, end) if end >= current else None)
    assert len(set(found.months)) == len(found.months) and list(found.months) == sorted(found.months)


def test_the_last_day_of_a_month() -> None:
    assert [last_day(m).isoformat() for m in ("2026-12", "2024-02", "2025-02", "2026-04")] == [
        "2026-12-31",
        "2024-02-29",
        "2025-02-28",
        "2026-04-30",
    ]


@given(st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2040, 1, 1)))
def test_a_session_without_sign_in_is_one_hour_of_one_address_and_browser(at: dt.datetime) -> None:
    at = at.replace(tzinfo=dt.UTC)
    hour = at.replace(minute=0, second=0, microsecond=0)
    same = session_of(hour, "10.0.0.1", "Firefox")
    assert session_of(at, "10.0.0.1", "Firefox") == same
    assert session_of(hour + dt.timedelta(hours=1), "10.0.0.1", "Firefox") != same
    assert session_of(at, "10.0.0.2", "Firefox") != same and session_of(at, "10.0.0.1", "Chrome") != same
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    assert session_of(at, "10.0.0.1", "Firefox", "token") == session_of(day, "10.0.0.9", "Chrome", "token")


@given(st.floats(min_value=0, max_value=120))
def test_a_double_click_is_within_30_seconds_of_the_previous_click(gap: float) -> None:
    first = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    assert is_double_click(first, first + dt.timedelta(seconds=gap)) == (gap <= 30)
    assert not is_double_click(None, first)
