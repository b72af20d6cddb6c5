"""``strongroom au status AU`` without opening the node (issue 16, a fast command line): the AU's status computed by
:class:`strongroom.services.network_status.NetworkView`, as on an opened node, over the catalog read on a connection
that cannot write (:class:`CatalogStatusReads`: a SQLite file with the standard library's ``sqlite3``, a PostgreSQL
database with ``psycopg`` alone), the local OCFL store opened as the node opens it, and the node's membership; no
SQLAlchemy, no node.

:func:`au_status` returns None, and the caller opens the node, when :func:`strongroom.services.lean_catalog.snapshot`
says the node must be opened (another search engine or store, an old schema, a write to recover, anything unreadable
or unreachable), or when the catalog cannot be read as expected. The errors a user meets (no such AU, no network
joined, no node key) are the node's own, raised where the opened node raises them.

The SQL is what the Core statements of :mod:`strongroom.catalog.repo` (``au_object_id_query``,
``poll_summaries_query``, ``Catalog._events_query``) compile to for SQLite and for PostgreSQL (SQLAlchemy's psycopg
dialect); tests/cli/test_lean_au_status.py checks each against the compiled statement, and the values against the
catalog's SQLAlchemy types on both.

Must not import: SQLAlchemy, the catalog's engine, the node, faces.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strongroom.clock import Clock, SystemClock
from strongroom.domain.poll_summary import PollSummary
from strongroom.errors import NotFound
from strongroom.services import lean_catalog
from strongroom.services.lean_catalog import POSTGRESQL, Params
from strongroom.services.membership import Membership
from strongroom.services.network_status import AUStatus, NetworkView, PollSummaries
from strongroom.store.registry import BACKENDS

AU_OBJECT_ID_SQL = 'SELECT archival_units.object_id \nFROM archival_units \nWHERE archival_units."key" = ?'
EVENT_COLUMNS = ("id", "uuid", "type", "outcome", "agent", "time", "detail", "object_type", "object_key", "data")
_EVENTS = f"SELECT {', '.join(f'events.{c}' for c in EVENT_COLUMNS)} \nFROM events \nWHERE events.object_key = "
_NEWEST_FIRST = " ORDER BY events.time DESC, events.id DESC"
EVENTS_OF_SQL = _EVENTS + "?" + _NEWEST_FIRST
LIMIT_SQL = "\n LIMIT ? OFFSET ?"
_POLL_SUMMARY = (
    "SELECT archival_units.object_id, archival_units.{key}, archival_units.last_poll_at, "
    "archival_units.last_poll_outcome, archival_units.last_conclusive_poll_at, archival_units.poll_alarms, "
    "archival_units.created_at \nFROM archival_units \nWHERE archival_units.object_id IN "
)
POLL_SUMMARY_SQL = _POLL_SUMMARY.format(key='"key"')
# The same for PostgreSQL, as SQLAlchemy's psycopg dialect sends them: named parameters (psycopg's %(name)s), each
# cast to its column's type, ``key`` not quoted, a LIMIT without an OFFSET.
PG_AU_OBJECT_ID_SQL = (
    "SELECT archival_units.object_id \nFROM archival_units \nWHERE archival_units.key = %(key_1)s::VARCHAR"
)
PG_EVENTS_OF_SQL = _EVENTS + "%(object_key_1)s::VARCHAR" + _NEWEST_FIRST
PG_LIMIT_SQL = " \n LIMIT %(param_1)s::INTEGER"
PG_POLL_SUMMARY_SQL = _POLL_SUMMARY.format(key="key")
POLL_SUMMARY_BATCH = 500  # as catalog.repo's

CatalogUnreadable = lean_catalog.CatalogUnreadable


@dataclass(frozen=True)
class EventRow:
    """A row of the events table, its values as the catalog's SQLAlchemy types give them."""

    id: int
    uuid: str
    type: str
    outcome: str
    agent: str
    time: dt.datetime
    detail: str
    object_type: str
    object_key: str
    data: dict[str, Any]


def au_object_id_sql(key: str, dialect: str) -> tuple[str, Params]:
    """``au_object_id_query(key)`` as SQLAlchemy sends it to ``dialect``."""
    return (PG_AU_OBJECT_ID_SQL, {"key_1": key}) if dialect == POSTGRESQL else (AU_OBJECT_ID_SQL, (key,))


def events_of_sql(object_key: str, limit: int | None, dialect: str) -> tuple[str, Params]:
    """``Catalog._events_query`` of the events of ``object_key`` (at most ``limit``, if given) as SQLAlchemy sends
    it to ``dialect``."""
    if dialect == POSTGRESQL:
        if limit:
            return PG_EVENTS_OF_SQL + PG_LIMIT_SQL, {"object_key_1": object_key, "param_1": limit}
        return PG_EVENTS_OF_SQL, {"object_key_1": object_key}
    return (EVENTS_OF_SQL + LIMIT_SQL, (object_key, limit, 0)) if limit else (EVENTS_OF_SQL, (object_key,))


def poll_summaries_sql(object_ids: Sequence[str], dialect: str) -> tuple[str, Params]:
    """``poll_summaries_query(object_ids)`` as SQLAlchemy sends it to ``dialect``."""
    if dialect == POSTGRESQL:
        names = [f"object_id_1_{n}" for n in range(1, len(object_ids) + 1)]
        marks = ", ".join(f"%({name})s::VARCHAR" for name in names)
        return PG_POLL_SUMMARY_SQL + "(" + marks + ")", dict(zip(names, object_ids, strict=True))
    return POLL_SUMMARY_SQL + "(" + ", ".join("?" * len(object_ids)) + ")", tuple(object_ids)


@dataclass(frozen=True)
class CatalogStatusReads:
    """:class:`strongroom.services.network_status.StatusReads` on the catalog read without opening the node, on
    SQLite or PostgreSQL (the reader's dialect)."""

    reader: lean_catalog.Reader
    clock: Clock

    def au_object_id(self, key: str) -> str:
        row = self.reader.first(*au_object_id_sql(key, self.reader.dialect))
        if row is None:
            # catalog.repo's _no_such_au (tests/cli/test_lean_au_status.py checks that they say the same)
            raise NotFound(f"no archival unit {key}", hint="list the node's AUs with: strongroom aus")
        return str(row[0])

    def event_rows(self, *, object_key: str, limit: int | None) -> list[EventRow]:
        rows = self.reader.rows(*events_of_sql(object_key, limit, self.reader.dialect))
        with _reading():
            return [self._event(r) for r in rows]

    def poll_summaries(self, object_ids: Sequence[str]) -> PollSummaries:
        out: PollSummaries = {}
        utc = self.reader.utc
        for start in range(0, len(object_ids), POLL_SUMMARY_BATCH):
            batch = object_ids[start : start + POLL_SUMMARY_BATCH]
            rows = self.reader.rows(*poll_summaries_sql(batch, self.reader.dialect))
            with _reading():
                for object_id, key, at, outcome, conclusive, alarms, created in rows:
                    alarms = list(self.reader.document(alarms) or [])
                    out[object_id] = (key, PollSummary(utc(at), outcome, utc(conclusive), alarms), utc(created))
        return out

    def _event(self, values: Sequence[Any]) -> EventRow:
        row = dict(zip(EVENT_COLUMNS, values, strict=True))
        return EventRow(**row | {"time": self.reader.utc(row["time"]), "data": self.reader.document(row["data"])})


@contextmanager
def _reading() -> Iterator[None]:
    """Values of the catalog converted: what does not convert as expected is :class:`CatalogUnreadable`."""
    try:
        yield
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise CatalogUnreadable(f"the catalog cannot be read without opening the node: {exc}") from exc


@dataclass(frozen=True)
class ReadAhead:
    """:class:`strongroom.services.network_status.StatusReads` answered from what was read of the catalog before the
    peers are asked (``NetworkView.au`` of one AU reads its object id, its events and its own poll summary, and
    nothing else), so that no read of the catalog stays open while a peer takes its time to answer, or to time out."""

    clock: Clock
    key: str
    object_id: str
    events: list[EventRow]
    summaries: PollSummaries

    @classmethod
    def of(cls, reads: CatalogStatusReads, key: str) -> ReadAhead:
        object_id = reads.au_object_id(key)
        summaries = reads.poll_summaries([object_id])
        return cls(reads.clock, key, object_id, reads.event_rows(object_key=key, limit=None), summaries)

    def au_object_id(self, key: str) -> str:
        self._read(key == self.key, f"the object id of {key}")
        return self.object_id

    def event_rows(self, *, object_key: str, limit: int | None) -> list[EventRow]:
        self._read(object_key == self.key, f"the events of {object_key}")
        return self.events if limit is None else self.events[:limit]

    def poll_summaries(self, object_ids: Sequence[str]) -> PollSummaries:
        self._read(set(object_ids) <= {self.object_id}, f"the poll summaries of {list(object_ids)}")
        return {i: self.summaries[i] for i in object_ids if i in self.summaries}

    def _read(self, ahead: bool, what: str) -> None:
        if not ahead:  # a change to NetworkView.au that reads more: read it in ``of`` too
            raise RuntimeError(f"{what} was not read ahead for au status of {self.key}")


def au_status(home: Path | None, au_key: str) -> AUStatus | None:
    """``NetworkStatus.au(client, au_key)`` of the node at ``home`` (asking its peers with its own client), computed
    without opening the node; None when the node must be opened for it (see the module's docstring). The catalog is
    read first, in the snapshot's one transaction, which ends before any peer is asked."""
    with lean_catalog.snapshot(home) as catalog:
        if catalog is None:
            return None
        settings = catalog.settings
        try:
            reads = ReadAhead.of(CatalogStatusReads(catalog.reader, SystemClock()), au_key)
        except CatalogUnreadable:
            return None
    try:
        # as the node opens it (an OCFL root, checked by snapshot), but for the object locks a PostgreSQL node also
        # takes in its database (store.registry's _across_machines, which reads the URL with SQLAlchemy): they
        # are for writers and whole-object reads, and this only reads an inventory's head, as the node does
        store = BACKENDS[settings.storage_backend].open(settings)
    except lean_catalog.CANNOT_READ:
        return None
    membership = Membership(settings.home, settings.node_id, settings.admin_key, settings.keys_dir, _joins_nothing)
    client = membership.client()
    try:
        return NetworkView(reads, store, membership).au(client, au_key)
    finally:
        client.close()


def _joins_nothing(key: str) -> None:
    """The membership's pin of the administrative key, called on a first join only: this read-only path joins
    nothing and writes nothing (the node's own ``_pin_admin_key`` writes the settings)."""
    raise RuntimeError("au status read without opening the node never joins a network")
