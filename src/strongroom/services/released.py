"""The public read model: the released part of the archive, the only door through which the portal, the OAI-PMH
provider, the sitemap, the release feed, the Crossref file and the static export see content, and through which
the access programme's enrolled content is found (its callers must then ask the access decision).

Every query here is built on :data:`RELEASED` (an AU whose ``released_at`` a released trigger has set); a search
asks the search index for released items only and then checks each hit here again. Nothing outside this module
reads items or files for the public, so "dark means dark" is a property of this one file, and tests crawl every
public endpoint to check it from outside.

Queries return plain frozen views, never ORM objects, so templates cannot lazily load anything else.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass, replace
from pathlib import PurePosixPath
from typing import Any, BinaryIO, TypeVar, cast

import pycountry
from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Integer,
    Row,
    Select,
    bindparam,
    false,
    func,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.orm import Session, selectinload

from strongroom.catalog.models import ArchivalUnit, Enrolment, File, Item, Publisher, Title, TitleSummary, Trigger
from strongroom.catalog.repo import Catalog
from strongroom.domain.identifiers import normalise_doi
from strongroom.domain.model import FileRole
from strongroom.domain.volumes import volume_key
from strongroom.errors import InvalidIdentifier
from strongroom.formats.text import xml_safe
from strongroom.search.base import FACETS, SearchIndex, SearchQuery
from strongroom.services.harvests import CDXJ
from strongroom.store.base import ObjectStore

T = TypeVar("T")
AnySelect = Select[*tuple[Any, ...]]
CACHE_ENTRIES = 20_000

HARVEST_INDEX = CDXJ  # a harvested AU holds one; the portal only asks whether it is there

RELEASED: ColumnElement[bool] = ArchivalUnit.released_at.is_not(None)

_SET_UNSAFE = re.compile(r"[^A-Za-z0-9\-_.!~*'()]+")


def set_part(key: str) -> str:
    """A catalog key as one part of an OAI-PMH setSpec (``:`` separates the hierarchy, so it is replaced)."""
    return _SET_UNSAFE.sub("-", key).strip("-") or "x"


def single_language(languages: Sequence[str] | None) -> str | None:
    """A title's language, when it has exactly one (a multilingual title's name is in none of them for sure)."""
    found = {str(x) for x in languages or () if x}
    return found.pop() if len(found) == 1 else None


def country_name(code: str | None) -> str:
    if not code:
        return ""
    country = pycountry.countries.get(alpha_2=code)
    return str(country.name) if country is not None else code


@dataclass(frozen=True)
class Release:
    trigger: str
    reason: str
    explanation: str
    released_at: dt.datetime
    licence: str
    scope: str  # e.g. "title issn:1234-5678"
    titles: tuple[tuple[str, str], ...]  # (title key, title name)
    evidence: tuple[str, ...]
    title_languages: tuple[tuple[str, str], ...] = ()  # (title key, language) of titles in one language

    def title_language(self, key: str) -> str | None:
        return dict(self.title_languages).get(key)


@dataclass(frozen=True)
class FileView:
    name: str  # the last part of the logical path; unique within an item
    logical_path: str
    media_type: str
    size: int
    role: str


@dataclass(frozen=True)
class ItemView:
    id: int
    public_id: str
    doi: str | None
    title: str
    authors: tuple[dict[str, Any], ...]
    abstract: str | None
    keywords: tuple[str, ...]
    publication_date: dt.date | None
    year: int | None
    volume: str | None
    issue: str | None
    pages: str | None
    language: str | None
    item_type: str
    original_licence: str | None
    licence: str
    released_at: dt.datetime
    trigger: str
    reason: str
    title_key: str
    title_name: str
    title_language: str | None  # the language of the title's name, when the title has one language
    au_key: str
    source_url: str | None  # the publisher's page, when the item was harvested
    archived: bool  # the AU holds harvested web pages (WARC) to replay
    issns: tuple[str, ...]
    publisher_key: str
    publisher_name: str
    country: str | None
    object_id: str
    files: tuple[FileView, ...]

    @property
    def volume_key(self) -> str:
        return volume_key(self.volume, self.year)

    @property
    def first_page(self) -> str | None:
        return self.pages.split("-")[0] if self.pages else None

    @property
    def last_page(self) -> str | None:
        return self.pages.split("-")[-1] if self.pages and "-" in self.pages else None

    def file(self, role: str, media_type: str) -> FileView | None:
        return next((f for f in self.files if f.role == role and f.media_type == media_type), None)

    @property
    def pdf(self) -> FileView | None:
        return self.file(FileRole.FULLTEXT, "application/pdf")

    @property
    def jats(self) -> FileView | None:
        return next((f for f in self.files if f.role == FileRole.METADATA and f.name.endswith(".xml")), None)


SEARCH_FACETS = tuple(FACETS)  # what a public search can be narrowed by: country, publisher, title, year, language


@dataclass(frozen=True)
class Found:
    """One page of a public search."""

    items: list[ItemView]  # best first
    total: int  # released items matching, in all
    facets: dict[str, list[tuple[str, str, int]]]  # facet -> (value, its name, hits), most hits first
    exact: bool = True  # False: the total and the facet counts are the search engine's estimates from a sample


@dataclass(frozen=True)
class ReleasedFile:
    public_id: str
    object_id: str
    file: FileView
    title_key: str
    publisher_key: str


@dataclass(frozen=True)
class TitleView:
    key: str
    name: str
    kind: str
    publisher_key: str
    publisher_name: str
    country: str | None
    issn_print: str | None
    issn_online: str | None
    languages: tuple[str, ...]
    items: int
    volumes: tuple[tuple[str, int | None, int], ...]  # (volume key, year, items)
    releases: tuple[Release, ...]

    @property
    def language(self) -> str | None:
        """The language of the title's name, when the title has one language."""
        return single_language(self.languages)


@dataclass(frozen=True)
class PublisherView:
    key: str
    name: str
    country: str | None
    titles: int
    items: int


# What an ItemView is made of, by name (the names are the row's attributes in Released._views).
_VIEW_ROWS: AnySelect = (
    select(
        Item.id,
        Item.public_id,
        Item.doi,
        Item.title,
        Item.authors,
        Item.abstract,
        Item.keywords,
        Item.publication_date,
        Item.year,
        Item.volume,
        Item.issue,
        Item.pages,
        Item.language,
        Item.item_type,
        Item.licence,
        Item.url,
        Item.au_id,
        ArchivalUnit.key.label("au_key"),
        ArchivalUnit.object_id,
        ArchivalUnit.released_at,
        ArchivalUnit.release_licence,
        ArchivalUnit.release_trigger,
        Title.key.label("title_key"),
        Title.name.label("title_name"),
        Title.languages.label("title_languages"),
        Title.issn_print,
        Title.issn_online,
        Publisher.key.label("publisher_key"),
        Publisher.name.label("publisher_name"),
        Publisher.country,
        Trigger.reason,
    )
    .join(ArchivalUnit, Item.au_id == ArchivalUnit.id)
    .join(Title, ArchivalUnit.title_id == Title.id)
    .outerjoin(Publisher, Title.publisher_id == Publisher.id)
    .outerjoin(Trigger, Trigger.key == ArchivalUnit.release_trigger)
)


def _enrolled_rows() -> AnySelect:
    """The programme's door: :data:`_VIEW_ROWS` of items of actively enrolled titles that are not released, with the
    enrolment's time and groups."""
    return (
        _VIEW_ROWS.add_columns(Enrolment.enrolled_at, Enrolment.groups)
        .join(Enrolment, Enrolment.title_id == ArchivalUnit.title_id)
        .where(Enrolment.active, ArchivalUnit.released_at.is_(None))
    )


IN_BATCH = 1000  # ids in one IN (...): far below every driver's limit on bound parameters


# Built once with expanding parameters: a statement made per request (and an IN made of a literal per id) costs
# more Python than the query takes in the database.
_HITS = _VIEW_ROWS.where(RELEASED, Item.id.in_(bindparam("ids", expanding=True)))
_BY_PUBLIC_ID = _VIEW_ROWS.where(RELEASED, Item.public_id == bindparam("public_id"))
_FILE_COLUMNS = (File.logical_path, File.media_type, File.size, File.role)
_FILES: CompoundSelect[*tuple[Any, ...]] = union_all(
    select(literal_column("0"), File.item_id, *_FILE_COLUMNS).where(
        File.item_id.in_(bindparam("items", expanding=True))
    ),
    select(literal_column("1"), File.au_id, *_FILE_COLUMNS).where(
        File.au_id.in_(bindparam("aus", expanding=True)), File.logical_path == HARVEST_INDEX
    ),
)
_NAMES: CompoundSelect[*tuple[Any, ...]] = union_all(
    select(literal_column("'publisher'"), Publisher.key, Publisher.name).where(
        Publisher.key.in_(bindparam("publishers", expanding=True))
    ),
    select(literal_column("'title'"), Title.key, Title.name).where(Title.key.in_(bindparam("titles", expanding=True))),
)


# The sitemap index's "loose index scan": from the first released item id, jump to the first released id past the end
# of its range of ``size`` ids, and so on (a recursive CTE both SQLite and PostgreSQL run). Built from RELEASED, not
# written as SQL text, so that what it calls released cannot drift from what every other query here calls released.
_SIZE = bindparam("size", type_=Integer)


def _first_released(*after: ColumnElement[bool]) -> Any:
    """The lowest released item id (past ``after``), as a scalar subquery: one probe of the items' primary key."""
    return (
        select(Item.id)
        .join(ArchivalUnit, ArchivalUnit.id == Item.au_id)
        .where(RELEASED, *after)
        .order_by(Item.id)
        .limit(1)
        .scalar_subquery()
    )


_RANGE_STARTS = select(_first_released().label("id")).cte("r", recursive=True)
_RANGE_STARTS = _RANGE_STARTS.union_all(
    select(_first_released(Item.id > ((_RANGE_STARTS.c.id - 1) // _SIZE + 1) * _SIZE)).where(
        _RANGE_STARTS.c.id.is_not(None)
    )
)
_RELEASED_RANGES = select(_RANGE_STARTS.c.id).where(_RANGE_STARTS.c.id.is_not(None))


def _files_of(
    s: Session, item_ids: Sequence[int], au_ids: set[int]
) -> tuple[dict[int, tuple[FileView, ...]], set[int]]:
    """The files of these items (by item, in logical path order) and which of these AUs hold harvested web pages,
    in one SELECT (two indexed parts, UNION ALL) per batch of ids: columns only."""
    by_item: dict[int, list[FileView]] = defaultdict(list)
    harvested: set[int] = set()
    aus = sorted(au_ids)
    for start in range(0, max(len(item_ids), len(aus)), IN_BATCH):
        batch = {"items": item_ids[start : start + IN_BATCH], "aus": aus[start : start + IN_BATCH]}
        for kind, key, path, media_type, size, role in s.execute(_FILES, batch):
            if kind:
                harvested.add(key)
            else:
                by_item[key].append(FileView(PurePosixPath(path).name, path, media_type, size, role))
    return {k: tuple(sorted(v, key=lambda f: f.logical_path)) for k, v in by_item.items()}, harvested


V = TypeVar("V")


def shown(view: V) -> V:
    """A view with every text in it safe to put in XML (OAI-PMH, feeds, sitemaps, the Crossref file) and on a page:
    the few characters XML cannot carry become U+FFFD. Storage and the catalog keep the text as it came."""
    return cast(V, _shown(view))


def _shown(value: Any) -> Any:
    kind = type(value)
    if kind is str:
        return xml_safe(value)
    if value is None or kind in _PLAIN:
        return value
    if isinstance(value, str):
        return xml_safe(value)
    if isinstance(value, tuple):
        return tuple(_shown(v) for v in value)
    if isinstance(value, dict):
        return {k: _shown(v) for k, v in value.items()}
    if is_dataclass(value) and not isinstance(value, type):
        names = _FIELD_NAMES.get(kind)
        if names is None:  # once per view class: dataclasses.fields() and replace() cost more than the texts
            names = _FIELD_NAMES[kind] = tuple(f.name for f in fields(value) if f.init)
        return replace(value, **{n: _shown(getattr(value, n)) for n in names})
    return value


_PLAIN = frozenset({int, bool, float, dt.date, dt.datetime})
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def title_view(
    t: Title,
    p: Publisher | None,
    items: int,
    volumes: tuple[tuple[str, int | None, int], ...] = (),
    releases: tuple[Release, ...] = (),
) -> TitleView:
    """A released title as the portal shows it (its volumes and releases only on its own page)."""
    return shown(
        TitleView(
            key=t.key,
            name=t.name,
            kind=t.kind,
            publisher_key=p.key if p else "",
            publisher_name=p.name if p else "",
            country=p.country if p else None,
            issn_print=t.issn_print,
            issn_online=t.issn_online,
            languages=tuple(t.languages or ()),
            items=items,
            volumes=volumes,
            releases=releases,
        )
    )


class Released:
    """Read-only queries over released content."""

    def __init__(
        self, catalog: Catalog, search: SearchIndex, store: ObjectStore, *, cache_seconds: float = 0.0
    ) -> None:
        self.catalog = catalog
        self.search_index = search
        self.store = store
        # Released content is never withdrawn, so remembering what was found released cannot reveal dark content;
        # a new version of a released AU shows after at most ``cache_seconds``. Misses are never remembered.
        self.cache_seconds = cache_seconds
        self._cache: dict[tuple[str, str], tuple[float, Any]] = {}

    def _cached(self, key: tuple[str, str], load: Callable[[], T]) -> T:
        if self.cache_seconds <= 0:
            return load()
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return cast(T, hit[1])
        value = load()
        if value is not None:
            self._remember(key, value, now)
        return value

    def _remember(self, key: tuple[str, str], value: object, now: float) -> None:
        if self.cache_seconds <= 0:
            return
        if len(self._cache) >= CACHE_ENTRIES:
            self._cache.clear()
        self._cache[key] = (now + self.cache_seconds, value)

    # ---- building blocks --------------------------------------------------------------------------------

    @staticmethod
    def _items() -> AnySelect:
        """The columns an :class:`ItemView` is made of, one row per released item: the item, its AU, title,
        publisher and trigger joined in one SELECT (the trigger only for its reason)."""
        return _VIEW_ROWS.where(RELEASED)

    @staticmethod
    def _views(s: Session, rows: Sequence[Row[Any]]) -> list[ItemView]:
        """Views of rows of :meth:`_items` (or of the programme's door, whose rows add the enrolment's time for an
        AU not released), with their files and whether their AU was harvested: one more SELECT."""
        if not rows:
            return []
        files, harvested = _files_of(s, [r.id for r in rows], {r.au_id for r in rows})
        out = []
        for r in rows:
            released_at = r.released_at or r._mapping.get("enrolled_at")
            assert released_at is not None  # RELEASED, or an enrolled item (then the enrolment's time)
            out.append(
                shown(
                    ItemView(
                        id=r.id,
                        public_id=r.public_id or "",
                        doi=r.doi,
                        title=r.title,
                        authors=tuple(r.authors or ()),
                        abstract=r.abstract,
                        keywords=tuple(r.keywords or ()),
                        publication_date=r.publication_date,
                        year=r.year,
                        volume=r.volume,
                        issue=r.issue,
                        pages=r.pages,
                        language=r.language,
                        item_type=r.item_type,
                        original_licence=r.licence,
                        licence=r.release_licence or r.licence or "",
                        released_at=released_at,
                        trigger=r.release_trigger or "",
                        reason=r.reason or "",
                        title_key=r.title_key,
                        title_name=r.title_name,
                        title_language=single_language(r.title_languages),
                        au_key=r.au_key,
                        source_url=r.url,
                        archived=r.au_id in harvested,
                        issns=tuple(x for x in (r.issn_print, r.issn_online) if x),
                        publisher_key=r.publisher_key or "",
                        publisher_name=r.publisher_name or "",
                        country=r.country,
                        object_id=r.object_id,
                        files=files.get(r.id, ()),
                    )
                )
            )
        return out

    # ---- items --------------------------------------------------------------------------------------------

    def item(self, public_id: str) -> ItemView | None:
        return self._cached(("item", public_id), lambda: self._item(public_id))

    def _item(self, public_id: str) -> ItemView | None:
        with self.catalog.session() as s:
            found = s.execute(_BY_PUBLIC_ID, {"public_id": public_id}).first()
            return self._views(s, [found])[0] if found else None

    def enrolled_item(self, public_id: str) -> tuple[ItemView, frozenset[str]] | None:
        """The programme's door, beside the public one: an item of an enrolled title that is not released, with
        the groups it is enrolled for. Callers must ask the access decision before showing anything of it."""
        stmt = _enrolled_rows().where(Item.public_id == public_id)
        with self.catalog.session() as s:
            row = s.execute(stmt).first()
            if row is None:
                return None
            return self._views(s, [row])[0], frozenset(str(g) for g in row.groups or ())

    def enrolled_titles(self, group: str) -> list[tuple[str, str, list[ItemView]]]:
        """(title key, name, items not released) of every title enrolled for ``group``."""
        out: dict[str, tuple[str, str, list[ItemView]]] = {}
        keys: dict[str, str] = {}  # title key -> the title's stored sort key
        stmt = _enrolled_rows().add_columns(Title.sort_key.label("title_sort_key")).order_by(Item.id)
        with self.catalog.session() as s:
            rows = [r for r in s.execute(stmt) if group in (r.groups or ())]
            for row, view in zip(rows, self._views(s, rows), strict=True):
                keys[view.title_key] = row.title_sort_key
                out.setdefault(view.title_key, (view.title_key, view.title_name, []))[2].append(view)
        return sorted(out.values(), key=lambda t: (keys[t[0]], t[0]))  # as listings order names (domain.names)

    def item_by_doi(self, doi: str) -> ItemView | None:
        try:
            doi = normalise_doi(doi)
        except InvalidIdentifier:
            return None
        with self.catalog.session() as s:
            found = s.execute(self._items().where(Item.doi == doi).order_by(Item.id).limit(1)).first()
            return self._views(s, [found])[0] if found else None

    def file(self, public_id: str, name: str) -> ReleasedFile | None:
        """A released item's file by its name, with the object that holds it and the title and publisher it belongs
        to (for the usage log): matched against the catalog, never joined to a filesystem path. One query (downloads
        are the portal's hottest path)."""
        return self._cached(("file", f"{public_id}/{name}"), lambda: self._file(public_id, name))

    def _file(self, public_id: str, name: str) -> ReleasedFile | None:
        stmt = (
            select(
                File.logical_path,
                File.media_type,
                File.size,
                File.role,
                ArchivalUnit.object_id,
                Title.key,
                Publisher.key,
            )
            .join(Item, File.item_id == Item.id)
            .join(ArchivalUnit, Item.au_id == ArchivalUnit.id)
            .join(Title, ArchivalUnit.title_id == Title.id)
            .outerjoin(Publisher, Title.publisher_id == Publisher.id)
            .where(RELEASED, Item.public_id == public_id)
        )
        with self.catalog.session() as s:
            for path, media_type, size, role, object_id, title_key, publisher_key in s.execute(stmt):
                if PurePosixPath(path).name == name:
                    view = FileView(name, path, media_type, size, role)
                    return ReleasedFile(public_id, object_id, view, title_key, publisher_key or "")
        return None

    def archived_au(self, au_key: str) -> str | None:
        """The object of a released AU that holds harvested web pages (None when dark or not harvested)."""
        stmt = (
            select(ArchivalUnit.object_id)
            .join(File, File.au_id == ArchivalUnit.id)
            .where(RELEASED, ArchivalUnit.key == au_key, File.logical_path == HARVEST_INDEX)
        )
        with self.catalog.session() as s:
            return s.scalar(stmt)

    def search(self, query: str, *, offset: int = 0, limit: int = 20) -> tuple[list[ItemView], int]:
        """Released items matching every word of ``query``, best first, and how many match in all."""
        found = self.find(query, offset=offset, limit=limit)
        return found.items, found.total

    def find(
        self,
        query: str,
        *,
        filters: Mapping[str, str] | None = None,
        facets: Sequence[str] = (),
        offset: int = 0,
        limit: int = 20,
    ) -> Found:
        """Released items matching every word (or quoted phrase) of ``query`` and every facet filter (facet name ->
        value), best first; with the values of ``facets`` among all of them, each with its count. The index is asked
        for released items only (so its counts hold no dark item), and each hit is checked here again."""
        hits = self.search_index.search(
            SearchQuery(
                query, released_only=True, filters=dict(filters or {}), facets=facets, offset=offset, limit=limit
            )
        )
        with self.catalog.session() as s:
            views: list[ItemView] = []
            if hits.ids:
                found = {r.id: r for r in s.execute(_HITS, {"ids": list(hits.ids)})}  # released here
                views = self._views(s, [found[i] for i in hits.ids if i in found])
            names = self._facet_names(s, hits.facets)
        return Found(
            views,
            hits.total,
            {facet: [(v, names.get((facet, v), v), n) for v, n in values] for facet, values in hits.facets.items()},
            hits.exact,
        )

    def _facet_names(self, s: Session, facets: Mapping[str, list[tuple[str, int]]]) -> dict[tuple[str, str], str]:
        """The names of the publishers and titles among facet values (keys); other values are shown as they are.
        Only values the index returned are named (it returns released values only), in one SELECT for both facets;
        a name found is remembered ``cache_seconds`` (names change rarely; a key names one thing)."""
        names: dict[tuple[str, str], str] = {}
        wanted: dict[str, list[str]] = {}
        now = time.monotonic()
        for facet in ("publisher", "title"):
            for value, _ in facets.get(facet, []):
                hit = self._cache.get((f"{facet} name", value))
                if hit is not None and hit[0] > now:
                    names[(facet, value)] = cast(str, hit[1])
                else:
                    wanted.setdefault(facet, []).append(value)
        if wanted:
            keys = {"publishers": wanted.get("publisher", []), "titles": wanted.get("title", [])}
            for facet, key, name in s.execute(_NAMES, keys):
                names[(str(facet), str(key))] = str(name)
                self._remember((f"{facet} name", str(key)), str(name), now)
        return names

    def open_file(self, object_id: str, file: FileView, *, start: int = 0, length: int | None = None) -> BinaryIO:
        """The bytes of a file this read model found (released, or enrolled behind the access decision), from the
        preserved copy."""
        return self.store.open_file(object_id, file.logical_path, start=start, length=length)

    def jats(self, item: ItemView) -> bytes | None:
        """An item's deposited JATS XML (None when it has none)."""
        if item.jats is None:
            return None
        with self.store.open_file(item.object_id, item.jats.logical_path) as fh:
            return fh.read()

    def volume(self, title_key: str, vol: str) -> list[ItemView]:
        # Narrowed in SQL to the items that can have this volume key (a title may hold a million items), then
        # matched exactly by volume_key.
        if vol.isdigit() and len(vol) <= 9:
            by_year: ColumnElement[bool] = Item.year == int(vol)
        elif vol == "other":
            by_year = Item.year.is_(None) | (Item.year == 0)
        else:
            by_year = false()
        no_volume = Item.volume.is_(None) | (Item.volume == "")
        with self.catalog.session() as s:
            rows = s.execute(self._items().where(Title.key == title_key, (Item.volume == vol) | (no_volume & by_year)))
            chosen = [r for r in rows if volume_key(r.volume, r.year) == vol]
            chosen.sort(key=lambda r: (_num(r.issue), _num((r.pages or "").split("-")[0]), r.id))
            return self._views(s, chosen)

    def page(
        self,
        *,
        after_id: int = 0,
        limit: int = 100,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        publisher_key: str | None = None,
        title_key: str | None = None,
    ) -> list[ItemView]:
        """Released items in id order after ``after_id``: the walk behind OAI-PMH lists and the sitemap."""
        stmt = self._items().where(Item.id > after_id)
        if since is not None:
            stmt = stmt.where(ArchivalUnit.released_at >= since)
        if until is not None:
            stmt = stmt.where(ArchivalUnit.released_at <= until)
        if title_key is not None:
            stmt = stmt.where(Title.key == title_key)
        if publisher_key is not None:
            stmt = stmt.where(Publisher.key == publisher_key)
        with self.catalog.session() as s:
            return self._views(s, list(s.execute(stmt.order_by(Item.id).limit(limit))))

    def count(self) -> int:
        """How many items are released: added up from the AUs' kept counts, never by counting items."""
        with self.catalog.session() as s:
            return int(s.scalar(select(func.sum(ArchivalUnit.item_count)).where(RELEASED)) or 0)

    def title_count(self) -> int:
        """How many titles have released items (from the AUs: no title or item is loaded)."""
        stmt = select(func.count(func.distinct(ArchivalUnit.title_id))).where(RELEASED, ArchivalUnit.item_count > 0)
        with self.catalog.session() as s:
            return int(s.scalar(stmt) or 0)

    def last_item_id(self) -> int:
        """The highest item id in the catalog, dark or not (an index look-up): where id-ranged walks end."""
        with self.catalog.session() as s:
            return int(s.scalar(select(func.max(Item.id))) or 0)

    def any_released_between(self, first_id: int, last_id: int) -> bool:
        """Whether a released item has an id from ``first_id`` to ``last_id``."""
        stmt = (
            select(Item.id)
            .join(ArchivalUnit, Item.au_id == ArchivalUnit.id)
            .where(RELEASED, Item.id >= first_id, Item.id <= last_id)
            .limit(1)
        )
        with self.catalog.session() as s:
            return s.scalar(stmt) is not None

    def released_ranges(self, size: int) -> list[int]:
        """The numbers ``n`` (from 1) of the item id ranges ``(n-1)*size+1`` to ``n*size`` that hold a released item,
        in one statement: a recursive "loose index scan" that jumps from the first released id of one range to the
        first released id past its end (SQLite and PostgreSQL alike), so it costs an index probe per range found
        instead of a round trip per range (the sitemap index)."""
        with self.catalog.session() as s:
            return [(int(i) - 1) // size + 1 for i in s.scalars(_RELEASED_RANGES, {"size": size})]

    def page_counts(self) -> tuple[int, int, int, int]:
        """How many countries, publishers, titles and (title, volume) pairs have released items: what
        :meth:`countries`, :meth:`publishers` and :meth:`title_volumes` list, counted from the titles' summaries
        (services.title_summaries: one row per title, kept with the AUs), so that no AU is visited."""
        ts = TitleSummary.__table__.c
        live = select(ts.title_id).where(ts.last_released.is_not(None))
        by_publisher = (  # from the titles with released items (a semi-join)
            select(
                func.count(func.distinct(Publisher.id)), func.count(func.distinct(func.nullif(Publisher.country, "")))
            )
            .join(Title, Title.publisher_id == Publisher.id)
            .where(Title.id.in_(live))
        )
        titles = select(func.count(Title.id), func.coalesce(func.sum(ts.volume_count), 0)).join(
            TitleSummary.__table__, ts.title_id == Title.id
        )
        with self.catalog.session() as s:
            publishers, countries = s.execute(by_publisher).one()
            n_titles, volumes = s.execute(titles.where(ts.last_released.is_not(None))).one()
            return int(countries), int(publishers), int(n_titles or 0), int(volumes or 0)

    def article_stamps(
        self, first_id: int = 1, last_id: int | None = None, *, batch: int = 5000
    ) -> Iterator[tuple[str, dt.datetime]]:
        """(public id, released at) of every released item with an id from ``first_id`` to ``last_id``, in id
        order: read a batch at a time by key (never by offset), two columns, no files, for the sitemap."""
        after = first_id - 1
        while True:
            stmt = (
                select(Item.id, Item.public_id, ArchivalUnit.released_at)
                .join(ArchivalUnit, Item.au_id == ArchivalUnit.id)
                .where(RELEASED, Item.id > after)
            )
            if last_id is not None:
                stmt = stmt.where(Item.id <= last_id)
            with self.catalog.session() as s:
                rows = s.execute(stmt.order_by(Item.id).limit(batch)).all()
            for _, public, released_at in rows:
                yield public or "", released_at or dt.datetime.min.replace(tzinfo=dt.UTC)  # RELEASED: always set
            if len(rows) < batch:
                return
            after = rows[-1][0]

    def earliest_release(self) -> dt.datetime | None:
        with self.catalog.session() as s:
            return s.scalar(select(func.min(ArchivalUnit.released_at)).where(RELEASED))

    # ---- titles, publishers, countries ----------------------------------------------------------------------

    def _title_counts(self, s: Session, title_id: int | None = None) -> dict[int, int]:
        """Released items per title (of one title, or all), from the AUs' kept counts: titles with none left out."""
        stmt = select(ArchivalUnit.title_id, func.sum(ArchivalUnit.item_count)).where(RELEASED)
        if title_id is not None:
            stmt = stmt.where(ArchivalUnit.title_id == title_id)
        stmt = stmt.group_by(ArchivalUnit.title_id).having(func.sum(ArchivalUnit.item_count) > 0)
        return {t: int(n) for t, n in s.execute(stmt)}

    def titles(self, *, publisher_key: str | None = None) -> list[TitleView]:
        with self.catalog.session() as s:
            counts = self._title_counts(s)
            stmt = select(Title).where(Title.id.in_(counts)).options(selectinload(Title.publisher))
            if publisher_key is not None:
                stmt = stmt.join(Publisher, Title.publisher_id == Publisher.id).where(Publisher.key == publisher_key)
            titles = s.scalars(stmt.order_by(Title.sort_key, Title.id)).all()  # as listings order names (domain.names)
            return [self._title_view(s, t, counts[t.id], detail=False) for t in titles]

    def title(self, key: str) -> TitleView | None:
        with self.catalog.session() as s:
            title = s.scalar(select(Title).where(Title.key == key).options(selectinload(Title.publisher)))
            counts = self._title_counts(s, title.id) if title is not None else {}
            if title is None or title.id not in counts:
                return None
            return self._title_view(s, title, counts[title.id], detail=True)

    def _title_view(self, s: Session, t: Title, items: int, *, detail: bool) -> TitleView:
        volumes: tuple[tuple[str, int | None, int], ...] = ()
        releases: tuple[Release, ...] = ()
        if detail:
            grouped: dict[str, list[Any]] = {}  # from the AUs' kept counts by volume: no item is read
            for kept in s.scalars(select(ArchivalUnit.volumes).where(RELEASED, ArchivalUnit.title_id == t.id)):
                for k, year, n in kept or ():
                    entry = grouped.setdefault(k, [k, year, 0])
                    entry[1] = max(entry[1] or 0, year or 0) or None
                    entry[2] += n
            volumes = tuple(sorted((tuple(v) for v in grouped.values()), key=lambda v: (-(v[1] or 0), v[0])))
            keys = set(s.scalars(select(ArchivalUnit.release_trigger).where(RELEASED, ArchivalUnit.title_id == t.id)))
            releases = tuple(self._releases(s, keys))
        return title_view(t, t.publisher, items, volumes, releases)

    def title_volumes(self, batch: int = 1000) -> list[tuple[str, dt.datetime, tuple[str, ...]]]:
        """(title key, last released, volume keys) of every title with released items, by key: read from the titles'
        summaries (services.title_summaries), a batch of titles at a time by key, so that what is read is what the
        sitemap lists, no AU row and no item (the sitemap's pages)."""
        ts, t = TitleSummary.__table__.c, Title.__table__.c
        stmt = (
            select(ts.title_id, t.key, ts.last_released, ts.volumes)
            .join(Title.__table__, t.id == ts.title_id)
            .where(ts.last_released.is_not(None))
            .order_by(ts.title_id)
            .limit(batch)
        )
        out: list[tuple[str, dt.datetime, tuple[str, ...]]] = []
        after = 0
        while True:
            with self.catalog.session() as s:
                rows = s.execute(stmt.where(ts.title_id > after)).all()
            out += [(key, at, tuple(str(v) for v in volumes or ())) for _, key, at, volumes in rows]
            if len(rows) < batch:
                return sorted(out)
            after = rows[-1][0]

    def publishers(self, *, country: str | None = None) -> list[PublisherView]:
        with self.catalog.session() as s:
            stmt = (
                select(Publisher, func.count(func.distinct(Title.id)), func.sum(ArchivalUnit.item_count))
                .join(Title, Title.publisher_id == Publisher.id)
                .join(ArchivalUnit, ArchivalUnit.title_id == Title.id)
                .where(RELEASED, ArchivalUnit.item_count > 0)
                .group_by(Publisher.id)
                .order_by(Publisher.sort_key, Publisher.id)  # as listings order names (domain.names)
            )
            if country is not None:
                stmt = stmt.where(Publisher.country == country)
            rows = s.execute(stmt).all()
            return [shown(PublisherView(p.key, p.name, p.country, nt, int(ni))) for p, nt, ni in rows]

    def publisher_pages(self) -> list[tuple[str, str, str | None]]:
        """(key, name, country) of every publisher :meth:`publishers` lists, in its order: what the sitemap lists of
        publishers and countries, read from the titles and their summaries (a title with released items has a
        summary saying when they were released), so that no AU is visited and nothing is counted."""
        ts = TitleSummary.__table__.c
        live = (  # a semi-join from the titles (a correlated EXISTS per publisher costs SQLite 20 times more)
            select(Title.publisher_id)
            .join(TitleSummary.__table__, ts.title_id == Title.id)
            .where(ts.last_released.is_not(None))
        )
        stmt = (
            select(Publisher.id, Publisher.key, Publisher.name, Publisher.country)
            .where(Publisher.id.in_(live))
            .order_by(Publisher.sort_key, Publisher.id)  # as publishers() orders
        )
        with self.catalog.session() as s:
            rows = s.execute(stmt).all()
        return [shown((str(key), str(name), country)) for _, key, name, country in rows]

    def publisher(self, key: str) -> PublisherView | None:
        return next((p for p in self.publishers() if p.key == key), None)

    def countries(self) -> list[tuple[str, str, int]]:
        """(code, name, publishers) for every country with released content."""
        counts: dict[str, int] = defaultdict(int)
        for p in self.publishers():
            if p.country:
                counts[p.country] += 1
        return sorted(((c, country_name(c), n) for c, n in counts.items()), key=lambda r: r[1])

    # ---- releases --------------------------------------------------------------------------------------------

    def _releases(self, s: Session, keys: set[str | None]) -> list[Release]:
        triggers = s.scalars(select(Trigger).where(Trigger.key.in_([k for k in keys if k])))
        out = []
        for t in triggers:
            if t.released_at is None:
                continue
            found: dict[str, tuple[str, str | None]] = {}
            for key, name, languages in s.execute(  # JSON columns cannot be DISTINCT on PostgreSQL: dedupe here
                select(Title.key, Title.name, Title.languages)
                .join(ArchivalUnit, ArchivalUnit.title_id == Title.id)
                .where(ArchivalUnit.release_trigger == t.key, RELEASED)
            ):
                found[key] = (name, single_language(languages))
            rows = [(key, name) for key, (name, _) in found.items()]
            out.append(
                shown(
                    Release(
                        trigger=t.key,
                        reason=t.reason,
                        explanation=t.explanation,
                        released_at=t.released_at,
                        licence=t.licence or "",
                        scope=f"{t.scope_kind} {t.scope_ref}",
                        titles=tuple(sorted(rows, key=lambda r: r[1])),
                        evidence=tuple(str(e) for e in t.evidence or ()),
                        title_languages=tuple(sorted((k, lang) for k, (_, lang) in found.items() if lang)),
                    )
                )
            )
        return sorted(out, key=lambda r: r.released_at, reverse=True)

    def releases(self) -> list[Release]:
        with self.catalog.session() as s:
            keys = set(s.scalars(select(ArchivalUnit.release_trigger).where(RELEASED)))
            return self._releases(s, keys)


def _num(text: str | None) -> tuple[int, str]:
    digits = re.match(r"\d+", text or "")
    return (int(digits.group()) if digits else 1 << 30, text or "")
