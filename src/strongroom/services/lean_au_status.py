"""``strongroom au status AU`` on the embedded default without opening the node (issue 16, a fast command line): the
AU's status computed by :class:`strongroom.services.network_status.NetworkView`, as on an opened node, over the
catalog read with the standard library's ``sqlite3`` on a connection that cannot write (:class:`SqliteStatusReads`),
the local OCFL store opened as the node opens it, and the node's membership; no SQLAlchemy, no node.

:func:`au_status` returns None, and the caller opens the node, when
:func:`strongroom.services.lean_catalog.snapshot` says the node must be opened (not the embedded default, an old
schema, a write to recover, anything unreadable), or when the catalog cannot be read as expected. The errors a user
meets (no such AU, no network joined, no node key) are the node's own, raised where the opened node raises them.

The SQL is what the Core statements of :mod:`strongroom.catalog.repo` (``au_object_id_query``,
``poll_summaries_query``, ``Catalog._events_query``) compile to for SQLite; tests/cli/test_lean_au_status.py checks
each against the compiled statement, and the values against the catalog's SQLAlchemy types.

Must not import: SQLAlchemy, the catalog's engine, the node, faces.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from strongroom.clock import Clock, SystemClock
from strongroom.domain.poll_summary import PollSummary
from strongroom.errors import NotFound, StrongroomError
from strongroom.services import lean_catalog
from strongroom.services.membership import Membership
from strongroom.services.network_status import AUStatus, NetworkView, PollSummaries
from strongroom.settings import Settings, write_settings
from strongroom.store.registry import open_store

AU_OBJECT_ID_SQL = 'SELECT archival_units.object_id \nFROM archival_units \nWHERE archival_units."key" = ?'
EVENT_COLUMNS = ("id", "uuid", "type", "outcome", "agent", "time", "detail", "object_type", "object_key", "data")
EVENTS_OF_SQL = (
    f"SELECT {', '.join(f'events.{c}' for c in EVENT_COLUMNS)} \nFROM events \nWHERE events.object_key = ? "
    "ORDER BY events.time DESC, events.id DESC"
)
LIMIT_SQL = "\n LIMIT ? OFFSET ?"
POLL_SUMMARY_SQL = (
    'SELECT archival_units.object_id, archival_units."key", archival_units.last_poll_at, '
    "archival_units.last_poll_outcome, archival_units.last_conclusive_poll_at, archival_units.poll_alarms, "
    "archival_units.created_at \nFROM archival_units \nWHERE archival_units.object_id IN "
)
POLL_SUMMARY_BATCH = 500  # as catalog.repo's


class CatalogUnreadable(StrongroomError):
    """The catalog did not read as the lean reader expects (the node is opened instead, and says what is wrong)."""


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


def utc(value: str | None) -> dt.datetime | None:
    """A ``UTCDateTime`` column's value as SQLAlchemy reads it from SQLite: ISO text parsed by
    ``datetime.fromisoformat`` (SQLAlchemy 2's SQLite ``DateTime``), then made aware in UTC (``UTCDateTime``)."""
    if value is None:
        return None
    time = dt.datetime.fromisoformat(value)
    return time.replace(tzinfo=dt.UTC) if time.tzinfo is None else time.astimezone(dt.UTC)


def document(value: str | None) -> Any:
    """A ``JSON`` column's value as SQLAlchemy reads it from SQLite (SQL NULL and JSON null alike: None)."""
    return None if value is None else json.loads(value)


@dataclass(frozen=True)
class SqliteStatusReads:
    """:class:`strongroom.services.network_status.StatusReads` on a SQLite catalog, with ``sqlite3``."""

    conn: sqlite3.Connection
    clock: Clock

    def au_object_id(self, key: str) -> str:
        with _reading():
            row = self.conn.execute(AU_OBJECT_ID_SQL, (key,)).fetchone()
        if row is None:
            # catalog.repo's _no_such_au (tests/cli/test_lean_au_status.py checks that they say the same)
            raise NotFound(f"no archival unit {key}", hint="list the node's AUs with: strongroom aus")
        return str(row[0])

    def event_rows(self, *, object_key: str, limit: int | None) -> list[EventRow]:
        sql, params = (EVENTS_OF_SQL + LIMIT_SQL, (object_key, limit, 0)) if limit else (EVENTS_OF_SQL, (object_key,))
        with _reading():
            return [_event(r) for r in self.conn.execute(sql, params)]

    def poll_summaries(self, object_ids: Sequence[str]) -> PollSummaries:
        out: PollSummaries = {}
        for start in range(0, len(object_ids), POLL_SUMMARY_BATCH):
            batch = list(object_ids[start : start + POLL_SUMMARY_BATCH])
            with _reading():
                for object_id, key, at, outcome, conclusive, alarms, created in self.conn.execute(
                    poll_summaries_sql(len(batch)), batch
                ):
                    summary = PollSummary(utc(at), outcome, utc(conclusive), list(document(alarms) or []))
                    out[object_id] = (key, summary, utc(created))
        return out


@contextmanager
def _reading() -> Iterator[None]:
    """Reads of the catalog: what does not read as expected is :class:`CatalogUnreadable`."""
    try:
        yield
    except (sqlite3.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise CatalogUnreadable(f"the catalog cannot be read without opening the node: {exc}") from exc


def poll_summaries_sql(n: int) -> str:
    """``poll_summaries_query`` of ``n`` object ids, as SQLAlchemy sends it to SQLite."""
    return POLL_SUMMARY_SQL + "(" + ", ".join("?" * n) + ")"


def _event(values: Sequence[Any]) -> EventRow:
    row = dict(zip(EVENT_COLUMNS, values, strict=True))
    return EventRow(**row | {"time": utc(row["time"]), "data": document(row["data"])})


def au_status(home: Path | None, au_key: str) -> AUStatus | None:
    """``NetworkStatus.au(client, au_key)`` of the node at ``home`` (asking its peers with its own client), computed
    without opening the node; None when the node must be opened for it (see the module's docstring)."""
    with lean_catalog.snapshot(home) as catalog:
        if catalog is None:
            return None
        settings = catalog.settings
        try:
            store = open_store(settings)  # as the node opens it: an OCFL root (checked by snapshot) only read here
        except lean_catalog.CANNOT_READ:
            return None
        membership = Membership(
            settings.home, settings.node_id, settings.admin_key, settings.keys_dir, lambda key: _pin(settings, key)
        )
        client = membership.client()
        try:
            return NetworkView(SqliteStatusReads(catalog.conn, SystemClock()), store, membership).au(client, au_key)
        except CatalogUnreadable:
            return None
        finally:
            client.close()


def _pin(settings: Settings, key: str) -> None:
    """As the node pins the administrative key on a first join (``au status`` joins nothing, so never called)."""
    write_settings(replace(settings, admin_key=key))
