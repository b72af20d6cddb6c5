"""COUNTER Release 5.1 rules for the usage log and its reporting periods, pure: no I/O.

- **Double-clicks** (Code of Practice 5.1, section 7.2): two requests for the *same URL* by the same user within
  30 seconds are one action; the interval is measured from the previous request, so a chain of requests each
  within 30 seconds of the one before counts once (the last one is kept).
- **User-sessions** (sections 7.3 and 7.4, for the Unique_ metrics): a logged session (here: the sign-in
  session's cookie) plus the transaction date; without one, the address and user agent plus the date and the
  hour of the day (the day is divided into 24 one-hour slices).
- **Reporting periods** (Appendix D, Exceptions 3020 and 3031): whole months; a month is reported once it has
  ended, so an ``end_date`` in the current month or later is cut back to the last complete month.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

DOUBLE_CLICK = dt.timedelta(seconds=30)
_DATE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()


def is_double_click(previous: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether a request at ``now`` repeats the same user's previous request for the same URL (at ``previous``)."""
    return previous is not None and dt.timedelta(0) <= now - previous <= DOUBLE_CLICK


def visitor_of(address: str, user_agent: str, signin: str | None = None) -> str:
    """Who clicks, for double-click filtering: the sign-in session if there is one, else address and browser."""
    return _digest("signin", signin) if signin else _digest("client", address, user_agent)


def session_of(at: dt.datetime, address: str, user_agent: str, signin: str | None = None) -> str:
    """The COUNTER user-session of a request at ``at`` (UTC), kept as a digest: the sign-in session and the
    date, else address, user agent, date and hour."""
    at = at.astimezone(dt.UTC)
    if signin:
        return _digest("signin", signin, at.date().isoformat())
    return _digest("client", address, user_agent, at.date().isoformat(), f"{at.hour:02d}")


def url_key(path: str) -> str:
    """The URL a double-click is keyed on, as a fixed-length digest."""
    return _digest(path)


def month_of(at: dt.datetime | dt.date) -> str:
    return f"{at.year:04d}-{at.month:02d}"


def next_month(month: str) -> str:
    y, m = int(month[:4]), int(month[5:7])
    return f"{y + (m == 12):04d}-{m % 12 + 1:02d}"


def previous_month(month: str) -> str:
    y, m = int(month[:4]), int(month[5:7])
    return f"{y - (m == 1):04d}-{(m - 2) % 12 + 1:02d}"


def last_day(month: str) -> dt.date:
    """The last day of a month (``2026-12`` -> 2026-12-31)."""
    return dt.date.fromisoformat(next_month(month) + "-01") - dt.timedelta(days=1)


class PeriodError(ValueError):
    """Dates a report cannot be made for (COUNTER Exception 3020, Invalid Date Arguments)."""


@dataclass(frozen=True)
class Period:
    """The months a report covers, and the first and last requested month that has not ended yet (Exception
    3031), if any."""

    months: tuple[str, ...]
    not_ready: tuple[str, str] | None = None

    @property
    def begin_date(self) -> str:
        return self.months[0] + "-01"

    @property
    def end_date(self) -> str:
        return last_day(self.months[-1]).isoformat()


def _month(value: str, name: str) -> str:
    found = _DATE.match(value)
    if not found:
        raise PeriodError(f"{name} {value!r} is not a month (yyyy-mm) or a date (yyyy-mm-dd)")
    year, month, day = found.groups()
    try:
        dt.date(int(year), int(month), int(day or 1))
    except ValueError:
        raise PeriodError(f"{name} {value!r} is not a date") from None
    return f"{year}-{month}"


def period(begin: str, end: str, today: dt.date) -> Period:
    """The reporting period for ``begin_date`` and ``end_date`` (months or dates; only their months count).

    A begin month that has not ended (the current month or later) cannot be reported; an end month that has not
    ended is cut back to the last complete month, and the months cut are listed for Exception 3031."""
    first, last = _month(begin, "begin_date"), _month(end, "end_date")
    if first > last:
        raise PeriodError(f"begin_date {begin} is after end_date {end}")
    current = month_of(today)
    if first >= current:
        raise PeriodError(
            f"usage for {first} is not ready: a month is reported once it has ended; "
            f"the latest complete month is {previous_month(current)}"
        )
    not_ready = None
    if last >= current:
        not_ready, last = (current, last), previous_month(current)
    months = [first]
    while months[-1] < last:
        months.append(next_month(months[-1]))
    return Period(tuple(months), not_ready)
