"""What an AU keeps about its polls, so that ``network status`` reads one row per AU instead of every poll event:
the last poll this node called and its outcome, the last conclusive audit by poll (this node's poll reaching a
landslide without alarm, or a peer's poll whose receipt said this copy agreed), and the alarms raised since then.

The summary is folded from the AU's poll events oldest first, one event at a time, by :func:`after`; the catalog
applies it as each event is recorded (in the same transaction) and revision 0016 folds the events already
recorded. Pure: imports no I/O library."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

MAX_ALARMS = 50  # kept newest first; older alarms since the last conclusive poll remain in the event log


@dataclass(frozen=True)
class PollSummary:
    last_poll_at: dt.datetime | None = None  # the last poll this node called on its copy
    last_poll_outcome: str | None = None  # that poll's event outcome (success, warning, failure)
    last_conclusive_at: dt.datetime | None = None  # the last conclusive audit of this copy by a poll
    alarms: list[str] = field(default_factory=list)  # "YYYY-MM-DD HH:MM detail", newest first, since then


def called_here(data: Mapping[str, Any]) -> bool:
    """Whether a poll event is a poll this node called (not a vote, a receipt or a finding about a peer)."""
    return data.get("role") == "poller" and "voters" in data


def conclusive(data: Mapping[str, Any]) -> bool:
    """Whether a poll event is a conclusive audit of this node's copy: its own poll that reached a landslide
    without alarm, or a peer's poll whose receipt said this copy agreed."""
    if called_here(data):
        return data.get("outcome") in ("agree", "disagree") and not data.get("alarms") and not data.get("unrepaired")
    return data.get("receipt") == "agree"


def after(summary: PollSummary, time: dt.datetime, outcome: str, detail: str, data: Mapping[str, Any]) -> PollSummary:
    """The summary once the poll event (``time``, ``outcome``, ``detail``, ``data``) is recorded; events come in
    the order they happened."""
    if called_here(data):
        summary = replace(summary, last_poll_at=time, last_poll_outcome=outcome)
    if conclusive(data):
        return replace(summary, last_conclusive_at=time, alarms=[])
    if data.get("alarms") or "ALARM" in detail:
        return replace(summary, alarms=[f"{time:%Y-%m-%d %H:%M} {detail}", *summary.alarms][:MAX_ALARMS])
    return summary
