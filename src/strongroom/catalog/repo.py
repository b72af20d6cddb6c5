"""The catalog's use-case-facing API: sessions, look-ups, listings and PREMIS-style events.

Services call this; faces never do. Every write happens inside one ``with catalog.session() as s`` block,
which commits on success and rolls back on any error, so the catalog never holds half an ingest. What only reads
the archive's own tables may select from them (:mod:`strongroom.catalog.tables`) on ``with catalog.connection()``
instead: the ORM (and the mapped classes) are imported and configured when a session or a model is first needed,
which a short listing never pays for.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine, Row, Select, func, or_, select
from sqlalchemy.exc import DBAPIError

from strongroom.catalog import tables
from strongroom.catalog.db import full_database, make_engine, migrate
from strongroom.clock import Clock
from strongroom.domain.model import EventOutcome, EventType
from strongroom.domain.poll_summary import PollSummary
from strongroom.errors import NotFound

if TYPE_CHECKING:  # the ORM and the mapped classes are imported by the methods that use them
    from sqlalchemy.orm import Session, sessionmaker

    from strongroom.catalog.models import ArchivalUnit, Event, Item, Publisher, Title

_S = TypeVar("_S", bound=Select[Any])


def _no_such_au(keys: Sequence[str]) -> NotFound:
    return NotFound(f"no archival unit {', '.join(keys)}", hint="list the node's AUs with: strongroom aus")


def au_object_id_query(key: str) -> Select[tuple[str]]:
    """The object id of the AU ``key`` (no row: no such AU)."""
    au = tables.archival_units.c
    return select(au.object_id).where(au.key == key)


POLL_SUMMARY_BATCH = 500  # object ids a statement of :func:`poll_summaries_query` binds


def poll_summaries_query(object_ids: Sequence[str]) -> Select[Any]:
    """For each AU among ``object_ids``: its object id, key, the poll summary it keeps (last poll, its outcome, last
    conclusive poll, alarms since) and when it was catalogued."""
    au = tables.archival_units.c
    return select(
        au.object_id,
        au.key,
        au.last_poll_at,
        au.last_poll_outcome,
        au.last_conclusive_poll_at,
        au.poll_alarms,
        au.created_at,
    ).where(au.object_id.in_(object_ids))


class Catalog:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    @classmethod
    def open(cls, url: str, clock: Clock, *, upgrade: bool = True) -> Catalog:
        engine = make_engine(url)
        if upgrade:
            migrate(engine)
        return cls(engine, clock)

    def close(self) -> None:
        self.engine.dispose()

    @cached_property
    def _sessions(self) -> sessionmaker[Session]:
        from sqlalchemy.orm import sessionmaker

        return sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        try:
            with self._sessions() as s, s.begin():
                yield s
        except DBAPIError as exc:
            full = full_database(exc, self.engine)
            if full is None:
                raise
            raise full from None

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A connection in a transaction (committed on success), for statements on the Core tables of
        :mod:`strongroom.catalog.tables`: no ORM session, no mapped class."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except DBAPIError as exc:
            full = full_database(exc, self.engine)
            if full is None:
                raise
            raise full from None

    # ---- events ------------------------------------------------------------------------------------------

    def record_event(
        self,
        s: Session,
        type: EventType,
        outcome: EventOutcome,
        *,
        agent: str,
        object_type: str,
        object_key: str,
        detail: str = "",
        data: dict[str, Any] | None = None,
        time: dt.datetime | None = None,
    ) -> Event:
        from strongroom.catalog.models import Event

        event = Event(
            uuid=str(uuid.uuid4()),
            type=str(type),
            outcome=str(outcome),
            agent=agent,
            time=time or self.clock.now(),
            detail=detail,
            object_type=object_type,
            object_key=object_key,
            data=data or {},
        )
        s.add(event)
        return event

    def events(
        self,
        *,
        object_key: str | None = None,
        type: str | None = None,
        limit: int | None = 100,
    ) -> list[Event]:
        from strongroom.catalog.models import Event

        with self.session() as s:
            return list(s.scalars(self._events_query(select(Event), object_key, type, limit)))

    def event_rows(
        self, *, object_key: str | None = None, type: str | None = None, limit: int | None = 100
    ) -> list[Row[Any]]:
        """The events :meth:`events` returns, as rows of the Core table (the same attributes, read only) on a
        connection: for what only reads them (``au status``), without importing the ORM or configuring a mapper."""
        with self.connection() as conn:
            return list(conn.execute(self._events_query(select(tables.events), object_key, type, limit)))

    @staticmethod
    def _events_query(stmt: _S, object_key: str | None, type: str | None, limit: int | None) -> _S:
        """``stmt`` (events, mapped or Core) newest first, of ``object_key`` and of ``type`` if given."""
        e = tables.events.c
        stmt = stmt.order_by(e.time.desc(), e.id.desc())
        if object_key:
            stmt = stmt.where(e.object_key == object_key)
        if type:
            stmt = stmt.where(e.type == type)
        if limit:
            stmt = stmt.limit(limit)
        return stmt

    # ---- look-ups ----------------------------------------------------------------------------------------

    def publishers(self) -> list[tuple[Publisher, int, int]]:
        """Every publisher with its number of titles and AUs."""
        from strongroom.catalog.models import ArchivalUnit, Publisher, Title

        stmt = (
            select(Publisher, func.count(func.distinct(Title.id)), func.count(ArchivalUnit.id))
            .outerjoin(Title, Title.publisher_id == Publisher.id)
            .outerjoin(ArchivalUnit, ArchivalUnit.title_id == Title.id)
            .group_by(Publisher.id)
            .order_by(Publisher.sort_key, Publisher.id)  # as listings order names (domain.names)
        )
        with self.session() as s:
            return [(p, int(t), int(a)) for p, t, a in s.execute(stmt)]

    def titles(self) -> list[tuple[Title, int, int]]:
        """Every title with its publisher loaded, its number of AUs and of items."""
        from sqlalchemy.orm import selectinload

        from strongroom.catalog.models import ArchivalUnit, Item, Title

        stmt = (
            select(Title, func.count(func.distinct(ArchivalUnit.id)), func.count(Item.id))
            .outerjoin(ArchivalUnit, ArchivalUnit.title_id == Title.id)
            .outerjoin(Item, Item.au_id == ArchivalUnit.id)
            .options(selectinload(Title.publisher))
            .group_by(Title.id)
            .order_by(Title.sort_key, Title.id)  # as listings order names (domain.names)
        )
        with self.session() as s:
            return [(t, int(a), int(i)) for t, a, i in s.execute(stmt)]

    def aus(self, keys: Sequence[str] = ()) -> list[tuple[ArchivalUnit, int, int, int]]:
        """AUs (all, or those named) with their title, item count, file count and total bytes (of the head version:
        the counts each AU keeps as it is catalogued, so nothing here reads the items or files tables)."""
        from sqlalchemy.orm import selectinload

        from strongroom.catalog.models import ArchivalUnit

        stmt = (
            select(ArchivalUnit, ArchivalUnit.item_count, ArchivalUnit.stored_files, ArchivalUnit.stored_bytes)
            .options(selectinload(ArchivalUnit.title))
            .order_by(ArchivalUnit.key)
        )
        if keys:
            stmt = stmt.where(ArchivalUnit.key.in_(list(keys)))
        with self.session() as s:
            rows = [(au, int(i), int(f), int(b)) for au, i, f, b in s.execute(stmt)]
        missing = sorted(set(keys) - {au.key for au, *_ in rows})
        if missing:
            raise _no_such_au(missing)
        return rows

    def au_object_id(self, key: str) -> str:
        """The object id of the AU ``key``, read from the Core table on a connection (no ORM): for what needs no
        more of the AU than where it is stored."""
        with self.connection() as conn:
            object_id = conn.scalar(au_object_id_query(key))
        if object_id is None:
            raise _no_such_au([key])
        return str(object_id)

    def poll_summaries(self, object_ids: Sequence[str]) -> dict[str, tuple[str, PollSummary, dt.datetime | None]]:
        """For each AU this node catalogues among ``object_ids``: its key, the poll summary it keeps (written as
        each poll event is recorded) and when this node catalogued it; one row per AU, read in chunks
        (``network status`` asks for every AU the network holds), never its events."""
        out: dict[str, tuple[str, PollSummary, dt.datetime | None]] = {}
        with self.connection() as conn:
            for start in range(0, len(object_ids), POLL_SUMMARY_BATCH):
                rows = conn.execute(poll_summaries_query(object_ids[start : start + POLL_SUMMARY_BATCH]))
                for object_id, key, at, outcome, conclusive, alarms, created in rows:
                    out[object_id] = (key, PollSummary(at, outcome, conclusive, list(alarms or [])), created)
        return out

    def get_au(self, s: Session, key: str) -> ArchivalUnit:
        from strongroom.catalog.models import ArchivalUnit

        au = s.scalar(select(ArchivalUnit).where(ArchivalUnit.key == key))
        if au is None:
            raise NotFound(f"no archival unit {key!r}", hint="list the node's AUs with: strongroom aus")
        return au

    def au_files(self, s: Session, au: ArchivalUnit) -> list[Row[str, int, str, str]]:
        """The AU's files as plain rows (logical path, size, sha512, sha256), by logical path: what an audit
        compares with the inventory, read without mapping an object for each of an AU's many files."""
        from strongroom.catalog.models import File

        stmt = (
            select(File.logical_path, File.size, File.sha512, File.sha256)
            .where(File.au_id == au.id)
            .order_by(File.logical_path)
        )
        return list(s.execute(stmt))

    def find_item(self, ref: str) -> Item:
        """An item by catalog id, DOI (any form) or item key, with its files and AU loaded."""
        from sqlalchemy.orm import selectinload

        from strongroom.catalog.models import ArchivalUnit, Item
        from strongroom.domain.identifiers import normalise_doi
        from strongroom.errors import InvalidIdentifier

        conditions = [Item.item_key == ref]
        if ref.isdigit():
            conditions.append(Item.id == int(ref))
        with contextlib.suppress(InvalidIdentifier):
            conditions.append(Item.doi == normalise_doi(ref))
        stmt = (
            select(Item)
            .where(or_(*conditions))
            .options(selectinload(Item.files), selectinload(Item.au).selectinload(ArchivalUnit.title))
            .order_by(Item.id.desc())
        )
        with self.session() as s:
            item = s.scalars(stmt).first()
        if item is None:
            raise NotFound(f"no item {ref!r}", hint="search with: strongroom items WORDS")
        return item
