"""Looking around the archive (the operators' view, dark content included): publishers, titles, AUs, items by
search or by reference, and events. Every answer is a plain frozen view, never a catalog row."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from strongroom.catalog.models import ArchivalUnit, Event, Item
from strongroom.catalog.repo import Catalog
from strongroom.search.base import SearchIndex, SearchQuery

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """Some rows of a listing and where they sit in it: ``total`` rows in all, these from ``offset``; ``after``:
    the key the next page starts after (None when this page is the last, or the listing is not walked by key)."""

    rows: tuple[T, ...]
    total: int
    offset: int
    limit: int | None
    after: int | None = None


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
class FileRow:
    path: str
    size: int
    media_type: str
    role: str
    sha512: str
    sha256: str


@dataclass(frozen=True)
class ItemRow:
    id: int
    key: str
    doi: str | None
    title: str
    authors: tuple[dict[str, Any], ...]
    publication_date: dt.date | None
    year: int | None
    volume: str | None
    issue: str | None
    pages: str | None
    language: str | None
    licence: str | None
    item_type: str
    au: str
    journal: str
    abstract: str | None = None
    keywords: tuple[str, ...] = ()
    files: tuple[FileRow, ...] = ()  # filled by show()


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


def _item_row(item: Item, *, files: bool = False) -> ItemRow:
    return ItemRow(
        id=item.id,
        key=item.item_key,
        doi=item.doi,
        title=item.title,
        authors=tuple(item.authors or ()),
        publication_date=item.publication_date,
        year=item.year,
        volume=item.volume,
        issue=item.issue,
        pages=item.pages,
        language=item.language,
        licence=item.licence,
        item_type=item.item_type,
        au=item.au.key,
        journal=item.au.title.name,
        abstract=item.abstract,
        keywords=tuple(item.keywords or ()),
        files=tuple(FileRow(f.logical_path, f.size, f.media_type, f.role, f.sha512, f.sha256) for f in item.files)
        if files
        else (),
    )


def event_row(e: Event) -> EventRow:
    return EventRow(e.uuid, e.type, e.outcome, e.time, e.agent, e.object_type, e.object_key, e.detail, dict(e.data))


class Browse:
    def __init__(self, catalog: Catalog, search: SearchIndex) -> None:
        self.catalog = catalog
        self.search = search

    def publishers(self) -> list[PublisherRow]:
        return [
            PublisherRow(p.key, p.name, p.country, p.platform, p.status, t, a) for p, t, a in self.catalog.publishers()
        ]

    def titles(self) -> list[TitleRow]:
        return [
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
                a,
                i,
            )
            for t, a, i in self.catalog.titles()
        ]

    def aus(self, keys: Sequence[str] = ()) -> list[AuRow]:
        return [
            AuRow(
                au.key,
                au.title.name,
                au.label,
                au.state,
                au.object_id,
                au.head_version,
                i,
                f,
                b,
                au.updated_at,
                "released" if au.released_at is not None else "dark",
                au.released_at,
                au.release_licence,
                au.release_trigger,
            )
            for au, i, f, b in self.catalog.aus(keys)
        ]

    def object_id(self, au_key: str) -> str:
        with self.catalog.session() as s:
            return self.catalog.get_au(s, au_key).object_id

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
        options = selectinload(Item.au).selectinload(ArchivalUnit.title)
        with self.catalog.session() as s:
            if not query:
                total = int(s.scalar(select(func.sum(ArchivalUnit.item_count))) or 0)
                stmt = select(Item).where(Item.id > after).order_by(Item.id).offset(offset or None)
                fetched = list(s.scalars(stmt.limit(None if limit is None else limit + 1).options(options)))
                more = limit is not None and len(fetched) > limit
                rows = tuple(_item_row(i) for i in fetched[:limit])
                return Page(rows, total, offset, limit, rows[-1].id if more and rows else None)
            wanted = limit if limit is not None else max(self.search.count() - offset, 1)
            hits = self.search.search(SearchQuery(query, offset=offset, limit=wanted))
            found = {i.id: i for i in s.scalars(select(Item).where(Item.id.in_(hits.ids)).options(options))}
            return Page(tuple(_item_row(found[i]) for i in hits.ids if i in found), hits.total, offset, limit)

    def show(self, ref: str) -> ItemRow:
        """One item by catalog id, DOI (any form) or item key, with its files."""
        return _item_row(self.catalog.find_item(ref), files=True)

    def events(self, *, object_key: str | None = None, type: str | None = None, limit: int = 100) -> list[EventRow]:
        return [event_row(e) for e in self.catalog.events(object_key=object_key, type=type, limit=limit)]

    def event_page(
        self, *, object_key: str | None = None, type: str | None = None, limit: int | None = 100, offset: int = 0
    ) -> Page[EventRow]:
        """Events newest first, one page (``limit`` None: all from ``offset``), with how many match in all."""
        conditions = [Event.object_key == object_key] if object_key else []
        conditions += [Event.type == type] if type else []
        with self.catalog.session() as s:
            total = s.scalar(select(func.count(Event.id)).where(*conditions)) or 0
            stmt = select(Event).where(*conditions).order_by(Event.time.desc(), Event.id.desc())
            rows = tuple(event_row(e) for e in s.scalars(stmt.offset(offset).limit(limit)))
        return Page(rows, total, offset, limit)
