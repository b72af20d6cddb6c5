"""A node's health as its operators read it at a glance: storage used and free, the last audit and what it found,
recent errors (failed events), the AUs a page at a time (by key, never all at once: a node holds 100,000), the
titles collected by a harvest plan, and publishers' deposits refused with their reasons.

Each answer is a bounded query; the console's node page (and its JSON) is built from them together with the job
queue, the network's copies and the OJS deposits, which have their own services.

Must not import: any face.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from strongroom.catalog.models import ArchivalUnit, Event, HarvestConfig, Title
from strongroom.catalog.repo import Catalog
from strongroom.domain.model import EventOutcome, EventType
from strongroom.services import keyset
from strongroom.space import free_bytes

AU_PAGE = 50  # AUs a page


@dataclass(frozen=True)
class Storage:
    used: int  # bytes of content the catalog lists
    free: int | None  # bytes free on the storage root's filesystem (None: cannot be told, e.g. an object store)
    aus: int
    files: int

    def to_dict(self) -> dict[str, Any]:
        return {"used": self.used, "free": self.free, "aus": self.aus, "files": self.files}


@dataclass(frozen=True)
class LastAudit:
    at: dt.datetime | None  # the newest fixity check (None: never audited)
    audited: int  # AUs audited at least once
    failing: list[str]  # AUs whose latest fixity check found problems

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat() if self.at else None, "audited": self.audited, "failing": self.failing}


@dataclass(frozen=True)
class Problem:
    """A failed event: what happened to which object, when, by whom, and what it said."""

    at: dt.datetime
    type: str
    object_key: str
    agent: str
    detail: str
    findings: list[str]  # for a refused deposit: "CODE path: message"

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "type": self.type,
            "object": self.object_key,
            "agent": self.agent,
            "detail": self.detail,
            "findings": self.findings,
        }


@dataclass(frozen=True)
class AURow:
    key: str
    title: str
    object_id: str
    version: int

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "title": self.title, "object_id": self.object_id, "version": self.version}


@dataclass(frozen=True)
class HarvestRow:
    title_key: str
    title_name: str
    plan: str
    every_days: int | None
    last_run: dt.datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title_key,
            "name": self.title_name,
            "plan": self.plan,
            "every_days": self.every_days,
            "last_run": self.last_run.isoformat() if self.last_run else None,
        }


def _problem(e: Event) -> Problem:
    findings = [f"{f[0]} {f[1]}: {f[2]}" for f in e.data.get("findings", []) if isinstance(f, list) and len(f) >= 3]
    return Problem(e.time, e.type, e.object_key, e.agent, e.detail, findings)


class Health:
    def __init__(self, catalog: Catalog, storage_root: Path | None) -> None:
        self.catalog = catalog
        self.storage_root = storage_root

    def storage(self) -> Storage:
        """What the AUs keep about their head versions, added up: one row per AU, never a file."""
        with self.catalog.session() as s:
            used, files, aus = s.execute(
                select(
                    func.coalesce(func.sum(ArchivalUnit.stored_bytes), 0),
                    func.coalesce(func.sum(ArchivalUnit.stored_files), 0),
                    func.count(ArchivalUnit.id),
                )
            ).one()
        free = free_bytes(self.storage_root) if self.storage_root is not None else None
        return Storage(int(used), free, int(aus), int(files))

    def last_audit(self) -> LastAudit:
        """The newest fixity check, and the AUs whose own latest fixity check failed, as the AUs keep them (the
        audit writes each AU's last audit with its event); never a pass over the events."""
        with self.catalog.session() as s:
            at, audited = s.execute(
                select(func.max(ArchivalUnit.last_audit_at), func.count(ArchivalUnit.last_audit_at))
            ).one()
            failing = s.scalars(
                select(ArchivalUnit.key)
                .where(ArchivalUnit.last_audit_ok.is_(False))
                .order_by(ArchivalUnit.key)
                .limit(100)
            ).all()
        return LastAudit(at, int(audited), list(failing))

    def errors(self, limit: int = 10) -> list[Problem]:
        """The newest failed events of any kind."""
        with self.catalog.session() as s:
            events = s.scalars(
                select(Event)
                .where(Event.outcome == EventOutcome.FAILURE.value)
                .order_by(Event.time.desc(), Event.id.desc())
                .limit(limit)
            ).all()
            return [_problem(e) for e in events]

    def refused_deposits(self, limit: int = 10) -> list[Problem]:
        """Publishers' deposits refused, newest first, with the findings that refused them."""
        with self.catalog.session() as s:
            events = s.scalars(
                select(Event)
                .where(
                    Event.object_type == "publisher",
                    Event.type == EventType.INGESTION.value,
                    Event.outcome == EventOutcome.FAILURE.value,
                )
                .order_by(Event.time.desc(), Event.id.desc())
                .limit(limit)
            ).all()
            return [_problem(e) for e in events]

    def aus(self, after: str = "", limit: int = AU_PAGE) -> tuple[list[AURow], str | None]:
        """A page of AUs by key, from the first key after ``after``; the key to ask the next page after (None: this
        was the last)."""
        with self.catalog.session() as s:
            stmt = (
                select(ArchivalUnit.key, Title.name, ArchivalUnit.object_id, ArchivalUnit.head_version)
                .join(Title, Title.id == ArchivalUnit.title_id)
                .where(ArchivalUnit.key > after)
                .order_by(ArchivalUnit.key)
            )
            # the cursor here is the plain key (the operator's page carries it as is)
            rows, last_key = keyset.fetch_page(lambda n: s.execute(stmt.limit(n)).all(), limit, lambda r: str(r[0]))
        return [AURow(k, t, o, v) for k, t, o, v in rows], last_key

    def au_keys(self, keys: list[str]) -> set[str]:
        """Which of ``keys`` name AUs of this node."""
        with self.catalog.session() as s:
            return set(s.scalars(select(ArchivalUnit.key).where(ArchivalUnit.key.in_(keys))).all())

    def suspects(self, limit: int = 20) -> list[tuple[dt.datetime, str, str, str]]:
        """Peers this node's polls reported, newest first: (when, AU, peer, why: still-disagrees, bad-repair or
        invalid-vote; or ``damaged`` for a peer found in the minority once), among the latest 500 poll warnings."""
        with self.catalog.session() as s:
            events = s.scalars(
                select(Event)
                .where(Event.type == EventType.POLL.value, Event.outcome == EventOutcome.WARNING.value)
                .order_by(Event.time.desc(), Event.id.desc())
                .limit(500)
            ).all()
        out: list[tuple[dt.datetime, str, str, str]] = []
        for e in events:
            peer = e.data.get("suspect") or (e.data.get("peer") if e.data.get("finding") == "damaged" else None)
            if peer:
                out.append((e.time, e.object_key, str(peer), str(e.data.get("finding") or "suspect")))
        return out[:limit]

    def record(self, actor: str, what: str, object_key: str, detail: str, data: dict[str, Any]) -> None:
        """An event of something a person did in the console (``actor``: ``console:USERNAME``)."""
        with self.catalog.session() as s:
            self.catalog.record_event(
                s,
                EventType.CONSOLE,
                EventOutcome.SUCCESS,
                agent=actor,
                object_type=what,
                object_key=object_key,
                detail=detail,
                data=data,
            )

    def harvest_plans(self, limit: int = 200) -> list[HarvestRow]:
        """The titles collected by a harvest plan."""
        with self.catalog.session() as s:
            return [
                HarvestRow(c.title_key, c.title_name, c.plan, c.every_days, c.last_run)
                for c in s.scalars(select(HarvestConfig).order_by(HarvestConfig.title_key).limit(limit))
            ]
