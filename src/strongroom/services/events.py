"""The node's event log, as the network's use cases write it: an event about an AU named by its OCFL object id
(or about the object itself when the catalog does not know it yet)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select

from strongroom.catalog.models import ArchivalUnit, Event
from strongroom.catalog.repo import Catalog
from strongroom.domain.model import EventOutcome, EventType


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
        """An event about the AU stored as ``object_id``."""
        with self.catalog.session() as s:
            key = s.scalar(select(ArchivalUnit.key).where(ArchivalUnit.object_id == object_id)) or object_id
            self.catalog.record_event(
                s, type, outcome, agent=self.agent, object_type="au", object_key=key, detail=detail, data=data
            )

    def latest(self, au_key: str, type: EventType) -> dt.datetime | None:
        """When the newest event of ``type`` about ``au_key`` happened (None: never)."""
        with self.catalog.session() as s:
            return s.scalar(select(func.max(Event.time)).where(Event.object_key == au_key, Event.type == type.value))
