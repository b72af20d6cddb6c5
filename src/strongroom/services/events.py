"""The node's event log, as the network's use cases write it: an event about an AU named by its OCFL object id
(or about the object itself when the catalog does not know it yet)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select

from strongroom.catalog.models import ArchivalUnit, Event
from strongroom.catalog.repo import Catalog
from strongroom.domain.model import EventOutcome, EventType
from strongroom.domain.poll_summary import PollSummary, after


class EventLog:
    def __init__(self, catalog: Catalog, agent: str) -> None:
        self.catalog = catalog
        self.agent = agent

    def au_key_for(self, object_id: str) -> str:
        with self.catalog.session() as s:
            return s.scalar(select(ArchivalUnit.key).where(ArchivalUnit.object_id == object_id)) or object_id

    def record(
        self, type: EventType, outcome: EventOutcome, object_id: str, detail: str, data: dict[str, Any] | None = None
    ) -> None:
        """An event about the AU stored as ``object_id``; a poll event updates the AU's poll summary in the same
        transaction (:mod:`strongroom.domain.poll_summary`), so that ``network status`` never reads the events."""
        with self.catalog.session() as s:
            find = select(ArchivalUnit).where(ArchivalUnit.object_id == object_id)
            poll = type == EventType.POLL
            # a poll's summary is read, folded and written back: the row is locked so that two polls of the AU
            # recorded at once (its own and a peer's receipt) both count (SQLite's writes are serial already)
            au = s.scalar(find.with_for_update() if poll else find)
            key = au.key if au is not None else object_id
            event = self.catalog.record_event(
                s, type, outcome, agent=self.agent, object_type="au", object_key=key, detail=detail, data=data
            )
            if poll and au is not None:
                note_poll(au, event)

    def latest(self, au_key: str, type: EventType) -> dt.datetime | None:
        """When the newest event of ``type`` about ``au_key`` happened (None: never)."""
        with self.catalog.session() as s:
            return s.scalar(select(func.max(Event.time)).where(Event.object_key == au_key, Event.type == type.value))


def note_poll(au: ArchivalUnit, event: Event) -> None:
    """Fold a poll event into the summary the AU keeps (its row, in the event's session)."""
    kept = PollSummary(au.last_poll_at, au.last_poll_outcome, au.last_conclusive_poll_at, list(au.poll_alarms or []))
    new = after(kept, event.time, event.outcome, event.detail, event.data)
    au.last_poll_at, au.last_poll_outcome = new.last_poll_at, new.last_poll_outcome
    au.last_conclusive_poll_at, au.poll_alarms = new.last_conclusive_at, new.alarms
