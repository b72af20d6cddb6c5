"""Looking around the archive (the operators' view, dark content included): publishers, titles, AUs, items by
search or by reference, and events; and the portal's lists of released titles and publishers
(:class:`ReleasedLists`, released content only). Every answer is a plain frozen view, never a catalog row.

Listings are walked by key (decision 0009): a page is the rows after a cursor (:mod:`strongroom.services.keyset`)
in the listing's order, its sort key then its id, so a page deep in the listing costs what the first one does.
Totals are counted from rows of publishers, titles and AUs (one per volume or year, never items); events are not
counted at all (a page says only whether there are more)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy import BigInteger, ColumnElement, Row, Select, and_, exists, func, literal, or_, select

from strongroom.catalog import tables
from strongroom.catalog.repo import Catalog
from strongroom.errors import NotFound
from strongroom.search.base import SearchIndex, SearchQuery
from strongroom.services import keyset
from strongroom.services.browse_views import ITEM_COLUMNS
from strongroom.services.browse_views import FileRow as FileRow  # the views browse answers with (re-exported)
from strongroom.services.browse_views import ItemRow as ItemRow
from strongroom.services.browse_views import Page as Page
from strongroom.services.browse_views import item_row as _item_row

if TYPE_CHECKING:
    from sqlalchemy.orm import InstrumentedAttribute

    # the mapped classes are imported by the methods that use them: the item listing reads the Core tables alone
    from strongroom.catalog.models import Event
    from strongroom.services.released import PublisherView, TitleView  # the portal's lists only, never the CLI's

    _Column = ColumnElement[int] | InstrumentedAttribute[int]

T = TypeVar("T")


@dataclass(frozen=True)
class KeyPage(Generic[T]):
    """One page of a listing walked by key: its rows, in the listing's order; ``next``: the cursor of the page
    after (None: this is the last); ``total``: how many rows the listing has in all, when they are counted without
    a scan (None: not counted)."""

    rows: tuple[T, ...]
    limit: int | None
    next: str | None
    total: int | None = None


@dataclass(frozen=True)
class PublisherRow:
    key: str
    name: str
    country: str | None
    platform: str | None
    status: str
    titles: int
    aus: int


@dataclass(frozen=True)
class TitleRow:
    key: str
    name: str
    kind: str
    issn_print: str | None
    issn_online: str | None
    issn_l: str | None
    isbn: str | None
    languages: tuple[str, ...]
    licence: str | None
    publisher: str | None
    aus: int
    items: int


@dataclass(frozen=True)
class AuRow:
    key: str
    title: str
    label: str
    state: str
    object_id: str
    version: int
    items: int
    files: int
    bytes: int
    updated_at: dt.datetime
    access: str  # "dark", or "released" to everyone by a trigger (then when, under which licence, by which)
    released_at: dt.datetime | None
    release_licence: str | None
    release_trigger: str | None


@dataclass(frozen=True)
class EventRow:
    uuid: str
    type: str
    outcome: str
    time: dt.datetime
    agent: str
    object_type: str
    object: str
    detail: str
    data: dict[str, Any]


def event_row(e: Event) -> EventRow:
    return EventRow(e.uuid, e.type, e.outcome, e.time, e.agent, e.object_type, e.object_key, e.detail, dict(e.data))


def _listed() -> Select[Any]:
    """An item's row of a listing, with its AU's key and its title's name (``au``, ``journal``), from the Core
    tables."""
    item, au, title = tables.items, tables.archival_units, tables.titles
    columns = [item.c[name] for name in ITEM_COLUMNS]
    return (
        select(*columns, au.c.key.label("au"), title.c.name.label("journal"))
        .join(au, au.c.id == item.c.au_id)
        .join(title, title.c.id == au.c.title_id)
    )


_LISTED_ITEMS = _listed()
# The statements of item_page. On a SQLite catalog ``strongroom items`` runs them without SQLAlchemy, as the SQL they
# compile to, kept in services.browse_views (LISTED_ITEMS_SQL and the rest; tests/cli/test_lean_items.py checks that
# each is exactly the compiled statement): change them here, and that test names the text to change there.
_ITEM_TOTAL = select(func.sum(tables.archival_units.c.item_count))


def _items_after(after: int, offset: int) -> Select[Any]:
    """The listed items after the id ``after``, in id order, from ``offset`` more on (then ``.limit(n)``)."""
    return _LISTED_ITEMS.where(tables.items.c.id > after).order_by(tables.items.c.id).offset(offset or None)


def _items_in(ids: Sequence[int]) -> Select[Any]:
    """The listed items of ``ids``."""
    return _LISTED_ITEMS.where(tables.items.c.id.in_(ids))


def _listed_item(r: Row[Any]) -> ItemRow:
    """The row shown for a row of :data:`_LISTED_ITEMS` (no files)."""
    return _item_row(r, au=r.au, journal=r.journal)


class Browse:
    def __init__(self, catalog: Catalog, search: SearchIndex) -> None:
        self.catalog = catalog
        self.search = search

    def publishers(self) -> list[PublisherRow]:
        """Every publisher, by name (:meth:`publisher_page` without a limit)."""
        return list(self.publisher_page(limit=None).rows)

    def titles(self) -> list[TitleRow]:
        """Every title, by name (:meth:`title_page` without a limit)."""
        return list(self.title_page(limit=None).rows)

    def aus(self, keys: Sequence[str] = ()) -> list[AuRow]:
        """Every AU, or those of ``keys`` (:class:`NotFound` names any missing), by key."""
        return list(self.au_page(keys=keys, limit=None).rows)

    @cached_property
    def released_lists(self) -> ReleasedLists:
        """The portal's paged lists of released titles and publishers."""
        return ReleasedLists(self.catalog)

    def object_id(self, au_key: str) -> str:
        """The object id of the AU ``au_key`` (NotFound worded as ``au status`` words it), read from the Core
        table: ``strongroom poll`` needs no more of the AU, and no ORM to find it."""
        return self.catalog.au_object_id(au_key)

    def items(self, query: str | None = None, *, limit: int = 50) -> list[ItemRow]:
        """Items in catalog order, or those matching every word of ``query``, best first."""
        return list(self.item_page(query, limit=limit).rows)

    def item_page(
        self, query: str | None = None, *, limit: int | None = 50, offset: int = 0, after: int = 0
    ) -> Page[ItemRow]:
        """One page of :meth:`items` (``limit`` None: all from ``offset``), with how many there are in all. Without
        a query, items in id order after the id ``after`` (by key: as fast deep in the catalog as at its start;
        ``offset`` then skips that many more, which costs as many rows), and the total is added up from the AUs'
        kept counts, never by counting items."""
        # Read on a connection from the Core tables, without the ORM: a listing is the whole of ``strongroom
        # items``, and importing the ORM and configuring its mappers would cost that command more than its query.
        if query:
            wanted = limit if limit is not None else max(self.search.count() - offset, 1)
            hits = self.search.search(SearchQuery(query, offset=offset, limit=wanted))
            with self.catalog.connection() as conn:
                found = {r.id: r for r in conn.execute(_items_in(hits.ids))}
            rows = tuple(_listed_item(found[i]) for i in hits.ids if i in found)
            return Page(rows, hits.total, offset, limit, exact=hits.exact)
        with self.catalog.connection() as conn:
            total = int(conn.scalar(_ITEM_TOTAL) or 0)
            stmt = _items_after(after, offset)
            found_rows, last_id = keyset.fetch_page(
                lambda n: list(conn.execute(stmt.limit(n))), limit, lambda r: int(r.id)
            )
        return Page(tuple(_listed_item(r) for r in found_rows), total, offset, limit, last_id)

    def show(self, ref: str) -> ItemRow:
        """One item by catalog id, DOI (any form) or item key, with its files."""
        item = self.catalog.find_item(ref)
        files = tuple(FileRow(f.logical_path, f.size, f.media_type, f.role, f.sha512, f.sha256) for f in item.files)
        return _item_row(item, au=item.au.key, journal=item.au.title.name, files=files)

    def events(self, *, object_key: str | None = None, type: str | None = None, limit: int = 100) -> list[EventRow]:
        return [event_row(e) for e in self.catalog.events(object_key=object_key, type=type, limit=limit)]

    def event_page(
        self,
        *,
        object_key: str | None = None,
        type: str | None = None,
        limit: int | None = 100,
        after: str | None = None,
    ) -> KeyPage[EventRow]:
        """Events newest first (by time, then id), the page after the cursor ``after`` (``limit`` None: all of
        them). Not counted: a log of years of audits is the biggest table after the items, and the page says only
        whether there are more."""
        from strongroom.catalog.models import Event

        conditions = [Event.object_key == object_key] if object_key else []
        conditions += [Event.type == type] if type else []
        if after:
            time_text, event_id = keyset.decode(after, str, int)
            try:
                time = dt.datetime.fromisoformat(time_text)
            except ValueError:
                raise keyset.BadCursor(f"the page position {after!r} names no time", hint=_FIRST_PAGE) from None
            # (time <= t) first, so that the index on time (or on object, time, id) bounds the walk
            conditions += [Event.time <= time, or_(Event.time < time, and_(Event.time == time, Event.id < event_id))]
        stmt = select(Event).where(*conditions).order_by(Event.time.desc(), Event.id.desc())
        with self.catalog.session() as s:
            events, cursor = keyset.fetch_page(
                lambda n: list(s.scalars(stmt.limit(n))), limit, lambda e: keyset.encode(e.time.isoformat(), e.id)
            )
            rows = tuple(event_row(e) for e in events)
        return KeyPage(rows, limit, cursor)

    # ---- paged listings of publishers, titles and AUs -------------------------------------------------------

    def publisher_page(self, *, after: str | None = None, limit: int | None = 100) -> KeyPage[PublisherRow]:
        """Publishers by name (as listings order names), then id: the page after ``after``, each with its titles
        and AUs (counted for this page's publishers only), and how many publishers there are."""
        from strongroom.catalog.models import ArchivalUnit, Publisher, Title

        sort = tables.publishers.c.sort_key
        stmt = select(Publisher, sort).order_by(sort, Publisher.id)
        if after:
            stmt = stmt.where(after_key(sort, Publisher.id, after))
        with self.catalog.session() as s:
            page, cursor = keyset.fetch_page(lambda n: s.execute(stmt.limit(n)).all(), limit, _by_name)
            ids = [p.id for p, _ in page]
            titles = dict(
                s.execute(
                    select(Title.publisher_id, func.count(Title.id))
                    .where(Title.publisher_id.in_(ids))
                    .group_by(Title.publisher_id)
                ).all()
            )
            aus = dict(
                s.execute(
                    select(Title.publisher_id, func.count(ArchivalUnit.id))
                    .join(ArchivalUnit, ArchivalUnit.title_id == Title.id)
                    .where(Title.publisher_id.in_(ids))
                    .group_by(Title.publisher_id)
                ).all()
            )
            total = int(s.scalar(select(func.count(Publisher.id))) or 0)
        rows = tuple(
            PublisherRow(
                p.key, p.name, p.country, p.platform, p.status, int(titles.get(p.id, 0)), int(aus.get(p.id, 0))
            )
            for p, _ in page
        )
        return KeyPage(rows, limit, cursor, total)

    def title_page(self, *, after: str | None = None, limit: int | None = 100) -> KeyPage[TitleRow]:
        """Titles by name (as listings order names), then id: the page after ``after``, each with its AUs and
        items (the AUs' kept counts, for this page's titles only), and how many titles there are."""
        from sqlalchemy.orm import selectinload

        from strongroom.catalog.models import ArchivalUnit, Title

        sort = tables.titles.c.sort_key
        stmt = select(Title, sort).options(selectinload(Title.publisher)).order_by(sort, Title.id)
        if after:
            stmt = stmt.where(after_key(sort, Title.id, after))
        with self.catalog.session() as s:
            page, cursor = keyset.fetch_page(lambda n: s.execute(stmt.limit(n)).all(), limit, _by_name)
            counts = {
                t: (int(a), int(i or 0))
                for t, a, i in s.execute(
                    select(ArchivalUnit.title_id, func.count(ArchivalUnit.id), func.sum(ArchivalUnit.item_count))
                    .where(ArchivalUnit.title_id.in_([t.id for t, _ in page]))
                    .group_by(ArchivalUnit.title_id)
                )
            }
            total = int(s.scalar(select(func.count(Title.id))) or 0)
            rows = tuple(
                TitleRow(
                    t.key,
                    t.name,
                    t.kind,
                    t.issn_print,
                    t.issn_online,
                    t.issn_l,
                    t.isbn,
                    tuple(t.languages or ()),
                    t.licence,
                    t.publisher.name if t.publisher else None,
                    *counts.get(t.id, (0, 0)),
                )
                for t, _ in page
            )
        return KeyPage(rows, limit, cursor, total)

    def au_page(self, *, after: str | None = None, limit: int | None = 100, keys: Sequence[str] = ()) -> KeyPage[AuRow]:
        """AUs by key (all, or those of ``keys``: :class:`NotFound` names any missing): the page after ``after``,
        each with its items (kept count) and the files and bytes of its head version (kept with the version), and
        how many AUs there are. No item or file is read."""
        from strongroom.catalog.models import ArchivalUnit, AUVersion, Title

        head = and_(AUVersion.au_id == ArchivalUnit.id, AUVersion.number == ArchivalUnit.head_version)
        stmt = (
            select(ArchivalUnit, Title.name, AUVersion.files, AUVersion.bytes)
            .join(Title, Title.id == ArchivalUnit.title_id)
            .outerjoin(AUVersion, head)
            .order_by(ArchivalUnit.key)
        )
        counted = select(func.count(ArchivalUnit.id))
        if keys:
            stmt = stmt.where(ArchivalUnit.key.in_(list(keys)))
            counted = counted.where(ArchivalUnit.key.in_(list(keys)))
        if after:
            (key,) = keyset.decode(after, str)
            stmt = stmt.where(ArchivalUnit.key > key)
        with self.catalog.session() as s:
            page, cursor = keyset.fetch_page(
                lambda n: s.execute(stmt.limit(n)).all(), limit, lambda r: keyset.encode(r[0].key)
            )
            total = int(s.scalar(counted) or 0)
            if keys and not after and total < len(set(keys)):  # some named AU is not there: which?
                present = set(s.scalars(select(ArchivalUnit.key).where(ArchivalUnit.key.in_(list(keys)))))
                missing = sorted(set(keys) - present)
                raise NotFound(
                    f"no archival unit {', '.join(missing)}", hint="list the node's AUs with: strongroom aus"
                )
            rows = tuple(
                AuRow(
                    au.key,
                    title,
                    au.label,
                    au.state,
                    au.object_id,
                    au.head_version,
                    au.item_count,
                    int(files or 0),
                    int(size or 0),
                    au.updated_at,
                    "released" if au.released_at is not None else "dark",
                    au.released_at,
                    au.release_licence,
                    au.release_trigger,
                )
                for au, title, files, size in page
            )
        return KeyPage(rows, limit, cursor, total)


_FIRST_PAGE = "copy the --after value (or the next page's link) exactly as the previous page gave it"


def after_key(sort: ColumnElement[Any], id_column: Any, cursor: str) -> ColumnElement[bool]:
    """The rows after ``cursor`` in the order (sort, id), written ``sort >= a AND (sort > a OR id > b)``: the first
    term lets an index on (sort, id) seek on SQLite and PostgreSQL alike. (SQLite does not seek on the row-value
    comparison ``(sort, id) > (a, b)`` over an expression index: it read every row before the cursor.)"""
    return after_position(sort, id_column, *keyset.decode(cursor, str, int))


def after_position(sort: ColumnElement[Any], id_column: Any, name: str, row_id: int) -> ColumnElement[bool]:
    """The rows after the position (``name``, ``row_id``) in the order (sort, id): :func:`after_key` of a cursor
    already read."""
    # the id is bound as a BIGINT: a cursor may carry any id below 2**63, past what an INTEGER column holds
    return and_(sort >= name, or_(sort > name, id_column > literal(row_id, BigInteger())))


def _by_name(row: Any) -> str:
    """The cursor after a row (entity, lowered name) of a listing by name then id."""
    return keyset.encode(row[1], row[0].id)


class ReleasedLists:
    """The portal's lists of released titles and publishers, a page at a time by name (as listings order names)
    then id. Only what :data:`strongroom.services.released.RELEASED` lets through is listed: a title with items in
    a released AU, a publisher with such a title (the rule of ``Released.titles`` and ``Released.publishers``,
    whose views these are). Counts add up the released AUs' kept counts, for the page's rows only."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    @staticmethod
    def _shows(title_id: _Column) -> ColumnElement[bool]:
        """The title has items in a released AU."""
        from strongroom.catalog.models import ArchivalUnit
        from strongroom.services.released import RELEASED

        return exists().where(ArchivalUnit.title_id == title_id, RELEASED, ArchivalUnit.item_count > 0)

    def titles(
        self, *, publisher_key: str | None = None, after: str | None = None, limit: int = 100
    ) -> KeyPage[TitleView]:
        """Released titles (of one publisher, or all) after ``after``, with how many there are in all."""
        from strongroom.catalog.models import ArchivalUnit, Publisher, Title
        from strongroom.services.released import RELEASED, title_view

        sort = tables.titles.c.sort_key
        stmt = (
            select(Title, Publisher, sort)
            .outerjoin(Publisher, Title.publisher_id == Publisher.id)
            .where(self._shows(Title.id))
            .order_by(sort, Title.id)
        )
        counted = select(func.count(func.distinct(ArchivalUnit.title_id))).where(RELEASED, ArchivalUnit.item_count > 0)
        if publisher_key is not None:
            stmt = stmt.where(Publisher.key == publisher_key)
            counted = (
                counted.join(Title, Title.id == ArchivalUnit.title_id)
                .join(Publisher, Title.publisher_id == Publisher.id)
                .where(Publisher.key == publisher_key)
            )
        if after:
            stmt = stmt.where(after_key(sort, Title.id, after))
        with self.catalog.session() as s:
            page, cursor = keyset.fetch_page(
                lambda n: s.execute(stmt.limit(n)).all(), limit, lambda r: keyset.encode(r[2], r[0].id)
            )
            items = dict(
                s.execute(
                    select(ArchivalUnit.title_id, func.sum(ArchivalUnit.item_count))
                    .where(RELEASED, ArchivalUnit.title_id.in_([t.id for t, _, _ in page]))
                    .group_by(ArchivalUnit.title_id)
                ).all()
            )
            total = int(s.scalar(counted) or 0)
        rows = tuple(title_view(t, p, int(items.get(t.id, 0))) for t, p, _ in page)
        return KeyPage(rows, limit, cursor, total)

    def publishers(
        self, *, country: str | None = None, after: str | None = None, limit: int = 100
    ) -> KeyPage[PublisherView]:
        """Publishers with released titles (of one country, or all) after ``after``, with how many in all."""
        from strongroom.catalog.models import ArchivalUnit, Publisher, Title
        from strongroom.services.released import RELEASED, PublisherView, shown

        sort = tables.publishers.c.sort_key
        has_released = exists().where(Title.publisher_id == Publisher.id, self._shows(Title.id))
        stmt = select(Publisher, sort).where(has_released).order_by(sort, Publisher.id)
        counted = (
            select(func.count(func.distinct(Title.publisher_id)))
            .join(ArchivalUnit, ArchivalUnit.title_id == Title.id)
            .where(RELEASED, ArchivalUnit.item_count > 0)
        )
        if country is not None:
            stmt = stmt.where(Publisher.country == country)
            counted = counted.join(Publisher, Title.publisher_id == Publisher.id).where(Publisher.country == country)
        if after:
            stmt = stmt.where(after_key(sort, Publisher.id, after))
        with self.catalog.session() as s:
            page, cursor = keyset.fetch_page(lambda n: s.execute(stmt.limit(n)).all(), limit, _by_name)
            counts = {
                p: (int(t), int(i or 0))
                for p, t, i in s.execute(
                    select(Title.publisher_id, func.count(func.distinct(Title.id)), func.sum(ArchivalUnit.item_count))
                    .join(ArchivalUnit, ArchivalUnit.title_id == Title.id)
                    .where(RELEASED, ArchivalUnit.item_count > 0, Title.publisher_id.in_([p.id for p, _ in page]))
                    .group_by(Title.publisher_id)
                )
            }
            total = int(s.scalar(counted) or 0)
        rows = tuple(shown(PublisherView(p.key, p.name, p.country, *counts.get(p.id, (0, 0)))) for p, _ in page)
        return KeyPage(rows, limit, cursor, total)
