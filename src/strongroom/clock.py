"""Injected time: every place that needs "now" takes a :class:`Clock`, so tests are deterministic."""

from __future__ import annotations

import datetime as dt
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC).replace(microsecond=0)


class FixedClock:
    """A clock for tests: returns ``start`` and advances by ``step`` on each call."""

    def __init__(self, start: dt.datetime, step: dt.timedelta = dt.timedelta(seconds=1)) -> None:
        self._t = start
        self._step = step

    def now(self) -> dt.datetime:
        t = self._t
        self._t = t + self._step
        return t
