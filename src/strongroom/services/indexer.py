"""Cataloguing an OCFL object: reads the object's inventory and its deposit record (``strongroom/deposit.json``,
:mod:`strongroom.formats.records`) and makes the catalog agree with the object's head version; then brings the
search index up to date through the catalog's search queue.

This is the only path by which stored content enters the catalog, used after every deposit, harvest, release and
replication, and by crash recovery and ``strongroom reindex``; and the only one by which it leaves (``forget``, once
the store has removed a copy this node no longer holds); so the catalog is always a faithful index of the storage
root, and the search index of the catalog.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import itertools
import json
import json.scanner
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import IO, Any, TypeVar

from sqlalchemy import Text, cast, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from strongroom.alloc import give_back
from strongroom.catalog.models import ArchivalUnit, AUVersion, File, Item, Publisher, SearchQueue, Title
from strongroom.catalog.repo import Catalog
from strongroom.domain.identifiers import public_id, slug
from strongroom.domain.model import AUState, EventOutcome, EventType
from strongroom.domain.volumes import issue_coverage, volume_counts
from strongroom.errors import StorageError
from strongroom.formats import record_stream
from strongroom.formats.records import DEPOSIT_RECORD, DepositRecord, FileRecord, ItemRecord, RecordError
from strongroom.formats.release_record import MAX_RECORD_BYTES, RELEASE_RECORD, parse_release, released_at
from strongroom.search.base import SearchDocument, SearchIndex, SearchIndexBusy
from strongroom.services import title_summaries
from strongroom.store.base import ObjectListing, ObjectStore, StoredFile

SEARCH_BATCH = 500
REBUILD_BATCH = 5_000  # items read from the catalog at a time when the whole search index is written again
CONCURRENT_RETRIES = 5
Progress = Callable[[int, int], None]  # (done, total)


@dataclass
class ReindexReport:
    done: list[str] = field(default_factory=list)  # "AU key vN" of each object catalogued
    problems: list[str] = field(default_factory=list)  # objects that could not be, and why
    items: int = 0  # items the catalogued objects hold


@dataclass(frozen=True)
class IndexResult:
    au_key: str
    version: int
    indexed: bool  # False when the catalog already matched the object
    items: int = 0  # the items it holds, when indexed


def search_document(item: Item) -> SearchDocument:
    """What the search index keeps of an item (its AU, title and publisher loaded)."""
    title, publisher = item.au.title, item.au.title.publisher
    return _document(
        (
            item.id,
            item.title,
            item.au.released_at is not None,
            item.abstract,
            item.authors,
            item.keywords,
            item.doi,
            publisher.country if publisher else None,
            publisher.key if publisher else None,
            title.key,
            item.year,
            item.language,
        )
    )


# What a search document is made of, read in one query (no ORM objects) when the whole index is written again; the
# JSON lists come as their text, decoded by the JSON scanner alone (a fifth of the cost of a row through the JSON
# type), and whether the AU is released as a boolean the database computes (not a timestamp made timezone-aware).
DOCUMENT_COLUMNS = (
    Item.id,
    Item.title,
    ArchivalUnit.released_at.is_not(None),
    Item.abstract,
    cast(Item.authors, Text),
    cast(Item.keywords, Text),
    Item.doi,
    Publisher.country,
    Publisher.key,
    Title.key,
    Item.year,
    Item.language,
)


# The C scanner json.loads itself calls (typeshed types its argument as a scanner: it takes a decoder's settings).
_SCAN: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]


def _json(text: str | None) -> Any:
    """``json.loads(text)`` (None for no text), in one call into the C scanner where the text is one JSON value and
    nothing else, as the catalog's JSON columns hold; through ``json.loads`` itself otherwise (its value, its error).
    A rebuild decodes two of these per item, and ``json.loads``'s own Python layers cost more than the decoding."""
    if not text:
        return None
    try:
        value, end = _SCAN(text, 0)
    except StopIteration:  # not a value at its first character (whitespace, a BOM, not JSON)
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


def _document(row: tuple[Any, ...]) -> SearchDocument:
    """The search document of an item's DOCUMENT_COLUMNS (its AU's release as a boolean, its JSON lists decoded)."""
    id_, title, released, abstract, authors, keywords, doi, country, publisher_key, title_key, year, language = row
    return SearchDocument(
        id=id_,
        title=title,
        released=bool(released),
        abstract=abstract or "",
        authors=tuple([str(a["name"]) for a in authors if a.get("name")]) if authors else (),
        keywords=tuple(map(str, keywords)) if keywords else (),
        identifiers=(doi,) if doi else (),
        country=country,
        publisher_key=publisher_key,
        title_key=title_key,
        year=year,
        language=language,
    )


def _date(text: str | None) -> dt.date | None:
    with contextlib.suppress(ValueError, TypeError):
        return dt.date.fromisoformat(text) if text else None
    return None


def _upsert_title(s: Session, record: DepositRecord, now: dt.datetime) -> Title:
    pub_rec = record.publisher
    pub_key = slug(pub_rec.name) + (f"-{pub_rec.country.lower()}" if pub_rec.country else "")
    publisher = s.scalar(select(Publisher).where(Publisher.key == pub_key))
    if publisher is None:
        publisher = Publisher(key=pub_key, name=pub_rec.name, status="active", created_at=now)
        s.add(publisher)
    publisher.country = pub_rec.country or publisher.country
    publisher.platform = pub_rec.platform or publisher.platform
    t = record.title
    title = s.scalar(select(Title).where(Title.key == t.key))
    if title is None:
        title = Title(key=t.key, name=t.name, kind=t.kind, languages=[], created_at=now)
        s.add(title)
    title.publisher = publisher
    title.name = t.name
    title.issn_print = t.issn_print or title.issn_print
    title.issn_online = t.issn_online or title.issn_online
    title.issn_l = title.issn_l or title.issn_print or title.issn_online
    title.isbn = t.isbn or title.isbn
    title.languages = sorted(set(title.languages or []) | set(t.languages))
    title.licence = t.licence or title.licence
    return title


ITEM_BATCH = 500  # items written to the catalog at a time, as plain rows
FILE_BATCH = 2_000  # file rows written at a time
ItemFacts = tuple[str | None, str | None, dt.date | None, int | None]  # volume, issue, publication date, year


def _item_row(rec: ItemRecord) -> dict[str, Any]:
    """An item's catalog columns from its record (those the record decides; keys and ids are the caller's)."""
    return {
        "doi": rec.doi,
        "title": rec.title or rec.key,
        "authors": [c.to_dict() for c in rec.contributors],
        "publication_date": _date(rec.publication_date),
        "year": rec.year,
        "volume": rec.volume,
        "issue": rec.issue,
        "pages": rec.pages,
        "abstract": rec.abstract,
        "keywords": list(rec.keywords),
        "language": rec.language,
        "licence": rec.licence,
        "item_type": rec.item_type or "other",
        "url": rec.url,
    }


def _record_from(data: Any) -> DepositRecord:
    """``DepositRecord.from_dict(data)``, the same record and the same errors, converting the items and files one at a
    time and dropping each one's parsed JSON from ``data`` once converted."""
    if not isinstance(data, dict):
        return DepositRecord.from_dict(data)  # the error it gives
    items = data.pop("items", None) or []
    files = data.pop("files", None) or {}
    head = DepositRecord.from_dict(data)  # checks the format, publisher, title and AU first, as it would
    if not isinstance(items, list):
        raise RecordError("items must be a list")
    if not isinstance(files, dict):
        raise RecordError("files must be an object")
    converted: list[ItemRecord] = []
    for n, item in enumerate(items):
        converted.append(ItemRecord.from_dict(item))
        items[n] = None
    kept: dict[str, FileRecord] = {}
    for path in list(files):
        kept[str(path)] = FileRecord.from_dict(files.pop(path), f"file {path!r}")
    return replace(head, items=tuple(converted), files=kept)


# The tables themselves (typed as tables): an insert into one is a plain Core executemany.
SEARCH_QUEUE_TABLE = SearchQueue.metadata.tables[SearchQueue.__tablename__]
FILES_TABLE = File.metadata.tables[File.__tablename__]


def _queue(s: Session, item_ids: list[int]) -> None:
    if item_ids:  # the table, not the entity: a Core executemany, without the ORM's bulk work for every row
        s.execute(insert(SEARCH_QUEUE_TABLE), [{"item_id": i} for i in item_ids])


# The item columns _item_row decides, compared with the catalog's before a row is written again.
ITEM_COLUMNS = tuple(
    getattr(Item, name)
    for name in (
        "doi",
        "title",
        "authors",
        "publication_date",
        "year",
        "volume",
        "issue",
        "pages",
        "abstract",
        "keywords",
        "language",
        "licence",
        "item_type",
        "url",
    )
)


def _unchanged(s: Session, rows: dict[int, dict[str, Any]]) -> set[int]:
    """The ids of the items (id -> the columns they should have) whose catalog rows already hold exactly that."""
    names = [c.key for c in ITEM_COLUMNS]
    same: set[int] = set()
    query = select(Item.id, *ITEM_COLUMNS).where(Item.id.in_(list(rows)))
    for found in s.connection().execute(query):  # plain rows, without the ORM's loading
        wanted = rows[found[0]]
        if all(found[n] == wanted[name] for n, name in enumerate(names, 1)):
            same.add(found[0])
    return same


def _replace_items(s: Session, au: ArchivalUnit, records: Iterator[ItemRecord]) -> tuple[int, Counter[ItemFacts]]:
    """Make the AU's items those of the record (``records``, its items, read as they are written); every item
    touched or removed is queued for the search index. Returns how many items the AU now has, and how many of them
    have each (volume, issue, date, year), for the AU's counts (as many entries as distinct dates, not one an item).

    Items are written ITEM_BATCH at a time as plain rows (bulk INSERT … RETURNING and bulk UPDATE by primary key),
    never as ORM objects: a deposit of tens of thousands of articles holds one batch of items and rows at a time,
    not a session full of objects, the record's every item, nor a list or set of their keys (issue 16). An item that
    was already catalogued keeps its id, and its row is written again only where it differs from the record (a
    reindex mostly finds every row as it should be: reading a batch of rows costs a fraction of writing them). The
    items the record no longer gives are deleted at the end, with their files; the caller makes the AU's file rows
    agree with its head version (``_replace_files``).

    A key the record gives twice (never in a record Strongroom wrote, whose items come in the order of their keys)
    is the item last given under it, where the first was, as a dict keeps them: a key not above every key before
    it is looked for among those already written."""
    existing: dict[str, int] = {
        key: id_ for key, id_ in s.execute(select(Item.item_key, Item.id).where(Item.au_id == au.id))
    }
    unseen = set(existing)  # the AU's items the record has not given (yet): those left at the end are removed
    written = 0
    facts: Counter[ItemFacts] = Counter()
    highest: str | None = None
    while batch := list(itertools.islice(records, ITEM_BATCH)):
        by_key = {rec.key: rec for rec in batch}  # twice in a batch: the last, where the first was
        ids: dict[str, int] = {}  # the batch's items' ids by key
        new_rows: list[dict[str, Any]] = []
        updates: dict[int, dict[str, Any]] = {}
        for key, rec in by_key.items():
            row = _item_row(rec)
            given = None if highest is None or key > highest else _given_before(s, au.id, key, existing, unseen)
            if given is not None:  # in an earlier batch: its counted facts are the earlier item's
                earlier = s.execute(
                    select(Item.volume, Item.issue, Item.publication_date, Item.year).where(Item.id == given)
                ).one()
                facts[tuple(earlier)] -= 1  # type: ignore[index]
                ids[key] = given
                updates[given] = row
            else:
                written += 1
                found = existing.get(key)
                if found is not None:
                    unseen.discard(key)
                    ids[key] = found
                    updates[found] = row
                else:
                    new_rows.append({"au_id": au.id, "item_key": key, "public_id": public_id(au.key, key), **row})
            facts[(row["volume"], row["issue"], row["publication_date"], row["year"])] += 1
            highest = key if highest is None or key > highest else highest
        if updates and (same := _unchanged(s, updates)):
            updates = {id_: row for id_, row in updates.items() if id_ not in same}
        if updates:
            s.execute(update(Item), [{"id": id_, **row} for id_, row in updates.items()])
        if new_rows:
            ids.update((key, id_) for key, id_ in s.execute(insert(Item).returning(Item.item_key, Item.id), new_rows))
        _queue(s, [ids[key] for key in by_key])
    gone = sorted(existing[key] for key in unseen)
    for n in range(0, len(gone), ITEM_BATCH):
        s.execute(delete(File).where(File.item_id.in_(gone[n : n + ITEM_BATCH])))
        s.execute(delete(Item).where(Item.id.in_(gone[n : n + ITEM_BATCH])))
    _queue(s, gone)
    return written, +facts  # (+: without the dates a repeated key's earlier item alone had)


def _given_before(s: Session, au_id: int, key: str, existing: dict[str, int], unseen: set[str]) -> int | None:
    """The id of the AU's item ``key`` if an earlier batch of this writing gave it, else None."""
    if key in existing:
        return None if key in unseen else existing[key]
    return s.scalar(select(Item.id).where(Item.au_id == au_id, Item.item_key == key))  # inserted by this writing


# A file row's columns after its AU and logical path, compared with the catalog's before a row is written again.
FILE_COLUMNS = (
    File.item_id,
    File.size,
    File.sha512,
    File.sha256,
    File.media_type,
    File.role,
    File.source,
    File.version,
)


class _Joined:
    """What the deposit record says of each file, looked up in ascending path order: the record's files (path and
    record, in ascending path order) are read as the lookups go, and each is dropped once passed."""

    def __init__(self, records: Iterator[tuple[str, FileRecord]]) -> None:
        self._records = records
        self._next: tuple[str, FileRecord] | None = next(records, None)

    def get(self, path: str) -> FileRecord | None:
        """The record of ``path`` (None if the record has none), ``path`` after every path asked for before."""
        while self._next is not None and self._next[0] < path:
            self._next = next(self._records, None)
        if self._next is not None and self._next[0] == path:
            return self._next[1]
        return None


def _replace_files(
    s: Session,
    au_id: int,
    files: Iterable[StoredFile],
    meta: Iterator[tuple[str, FileRecord]],
) -> tuple[int, int]:
    """Make the AU's file rows those of its head version's ``files`` (sorted by path, as the store gives them, read
    one at a time), with what the deposit record says of each (``meta``: path and record, in path order, read as
    they are joined to ``files``) and the id of its item (looked up in the catalog FILE_BATCH files at a time);
    return how many files and bytes it holds. Rows already as they should be are kept (a reindex finds nearly all
    so); the others are deleted and written again, FILE_BATCH at a time as a Core executemany: no ORM object per
    file, an AU can hold tens of thousands."""
    joined = _Joined(meta)
    counts = [0, 0]
    existing: dict[str, tuple[Any, ...]] = {
        row[0]: tuple(row[1:])
        for row in s.connection().execute(select(File.logical_path, File.id, *FILE_COLUMNS).where(File.au_id == au_id))
    }
    rows: list[dict[str, Any]] = []
    stale: list[int] = []  # rows written again: deleted just before, for (au_id, logical_path) is unique

    def write() -> None:
        if stale:
            s.execute(delete(File).where(File.id.in_(stale)))
        s.execute(insert(FILES_TABLE), rows)
        rows.clear()
        stale.clear()

    stored = iter(files)
    while chunk := [(f, joined.get(f.logical_path)) for f in itertools.islice(stored, FILE_BATCH)]:
        items = _item_ids(s, au_id, {m.item for _, m in chunk if m is not None and m.item})
        for f, m in chunk:
            counts[0] += 1
            counts[1] += f.size
            values = (
                items.get(m.item) if m and m.item else None,
                f.size,
                f.sha512,
                f.sha256,
                m.media_type if m else "application/json",
                m.role if m else "metadata",
                m.source if m else "generated",
                f.version,
            )
            found = existing.pop(f.logical_path, None)
            if found is not None:
                if found[1:] == values:
                    continue
                stale.append(found[0])
            rows.append(
                {
                    "au_id": au_id,
                    "logical_path": f.logical_path,
                    **{c.key: v for c, v in zip(FILE_COLUMNS, values, strict=True)},
                }
            )
        if rows:
            write()
    gone = [found[0] for found in existing.values()]  # files the head version no longer has
    for n in range(0, len(gone), FILE_BATCH):
        s.execute(delete(File).where(File.id.in_(gone[n : n + FILE_BATCH])))
    return counts[0], counts[1]


def _item_ids(s: Session, au_id: int, keys: set[str]) -> dict[str, int]:
    """The ids of the AU's items with ``keys``, by key."""
    if not keys:
        return {}
    query = select(Item.item_key, Item.id).where(Item.au_id == au_id, Item.item_key.in_(sorted(keys)))
    return {key: id_ for key, id_ in s.execute(query)}


def _counts(files: Iterable[StoredFile]) -> tuple[int, int]:
    """How many files, and bytes."""
    count = size = 0
    for f in files:
        count += 1
        size += f.size
    return count, size


_Read = TypeVar("_Read")
SMALL_RECORD = 1 << 20  # bytes: a deposit record up to this size (hundreds of articles) is parsed whole, which is
# several times faster than reading it in pieces, at a cost in memory bounded by this size


class _Prefixed(io.RawIOBase):
    """A stream's first bytes, already read, then the rest of it."""

    def __init__(self, first: bytes, rest: IO[bytes]) -> None:
        self._first = memoryview(first)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._first:
            n = min(len(buffer), len(self._first))
            buffer[:n] = self._first[:n]
            self._first = self._first[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _read_small(fh: IO[bytes]) -> tuple[bytes | None, IO[bytes]]:
    """The whole content of ``fh`` when it holds no more than :data:`SMALL_RECORD` bytes (and a spent stream), else
    None and a stream that reads it all from the start."""
    first = fh.read(SMALL_RECORD + 1)
    if len(first) <= SMALL_RECORD:
        return first, fh
    return None, io.BufferedReader(_Prefixed(first, fh))


class Indexer:
    def __init__(self, catalog: Catalog, store: ObjectStore, search: SearchIndex, *, agent: str) -> None:
        self.catalog = catalog
        self.store = store
        self.search = search
        self.agent = agent

    def read_record(self, object_id: str, version: int | None = None) -> DepositRecord:
        """The object's deposit record (as ``DepositRecord.from_bytes`` reads it). A small one is parsed whole, the
        fastest way; a large one a piece at a time (``formats.record_stream``): never held as bytes, text or parsed
        JSON, only as the record made from it."""
        read = self._streamed(object_id, version, record_stream.read_record)
        return self._read_whole(object_id, read) if isinstance(read, bytes) else read

    def _record_items(self, object_id: str, version: int) -> tuple[DepositRecord, Iterator[ItemRecord]]:
        """The deposit record of a version without its items, and the items read again one at a time as they are
        asked for (every item was checked on the first reading). A small record is read whole."""
        head = self._streamed(object_id, version, record_stream.read_head)
        if isinstance(head, bytes):
            whole = self._read_whole(object_id, head)
            return replace(whole, items=()), iter(whole.items)
        return head.record, self._items(object_id, version)

    def _record_parts(
        self, listing: ObjectListing, opened: contextlib.ExitStack
    ) -> tuple[DepositRecord, Iterator[ItemRecord], Iterator[tuple[str, FileRecord]]]:
        """As :meth:`_record_items`, the record without its files as well, and its files (path and record) in the
        order of their paths, read again one at a time as they are asked for: cataloguing joins them with the
        version's files, which come in that order, so that neither the record's files nor their rows are held
        whole. A record whose files are not in that order (none Strongroom wrote) is read whole, its files sorted.
        The record is opened for both readings now (``opened`` closes it), so that they need no inventory later;
        ``listing`` says where it is (the head version's)."""
        object_id = listing.object_id

        def opener() -> IO[bytes]:
            return listing.open_file(DEPOSIT_RECORD)

        head = self._streamed(object_id, None, lambda fh: record_stream.read_head(fh, files=False), opener)
        if isinstance(head, bytes):
            whole = self._read_whole(object_id, head)
            return replace(whole, items=(), files={}), iter(whole.items), iter(sorted(whole.files.items()))
        items = record_stream.iter_items(opened.enter_context(opener()))
        files = record_stream.iter_files(opened.enter_context(opener()))
        return head.record, items, files

    def _items(self, object_id: str, version: int) -> Iterator[ItemRecord]:
        with self.store.open_file(object_id, DEPOSIT_RECORD, version) as fh:
            yield from record_stream.iter_items(fh)

    def _streamed(
        self,
        object_id: str,
        version: int | None,
        read: Callable[[IO[bytes]], _Read],
        opener: Callable[[], IO[bytes]] | None = None,
    ) -> _Read | bytes:
        """What ``read`` makes of the deposit record read in pieces, or the record's bytes, for the caller to parse
        whole, when it is small (:data:`SMALL_RECORD`) or not readable in pieces (a member named twice: json keeps
        the last, and so must we). ``opener`` opens the record, if not the store."""
        if opener is None:

            def opener() -> IO[bytes]:
                return self.store.open_file(object_id, DEPOSIT_RECORD, version)

        try:
            with opener() as fh:
                small, rest = _read_small(fh)
                return small if small is not None else read(rest)
        except record_stream.NotStreamable:
            with opener() as fh:
                return fh.read()
        except RecordError as exc:
            raise RecordError(f"object {object_id}: {exc.message}") from None

    def _read_whole(self, object_id: str, raw: bytes) -> DepositRecord:
        """The record parsed whole (its bytes, its text and its parsed JSON each let go as soon as the next form is
        made, and each item's and file's JSON once converted), for the exact record or error ``json.loads`` gives."""
        try:
            text = raw.decode("utf-8")
            del raw
            data = json.loads(text)
            del text
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # RecursionError: nested past the parser
            raise RecordError(f"object {object_id}: {DEPOSIT_RECORD} is not JSON: {exc}") from None
        try:
            return _record_from(data)
        except RecordError as exc:
            raise RecordError(f"object {object_id}: {exc.message}") from None

    def read_release(self, object_id: str) -> dict[str, object] | None:
        if RELEASE_RECORD not in self.store.state(object_id):
            return None
        with self.store.open_file(object_id, RELEASE_RECORD) as fh:
            return parse_release(fh.read(MAX_RECORD_BYTES + 1), object_id)

    @staticmethod
    def _release(listing: ObjectListing) -> dict[str, object] | None:
        """:meth:`read_release`, from a listing."""
        if not listing.has(RELEASE_RECORD):
            return None
        with listing.open_file(RELEASE_RECORD) as fh:
            return parse_release(fh.read(MAX_RECORD_BYTES + 1), listing.object_id)

    def index(self, object_id: str, *, recovered: bool = False, force: bool = False) -> IndexResult:
        """Catalogue the object's head version (if the catalog lacks it, or always with ``force``), then update the
        search index."""
        result = self._catalogue(object_id, recovered=recovered, force=force)
        self._sync_after_write()
        return result

    def _sync_after_write(self) -> None:
        """Bring the search index up to date after a catalog write. When another process holds the index for long
        (a rebuild), the write stands all the same: its items stay queued, and that process, the next write or the
        next start indexes them (a dark item is never shown meanwhile: every hit is checked against the catalog)."""
        with contextlib.suppress(SearchIndexBusy):
            self.sync_search()

    def _catalogue(self, object_id: str, *, recovered: bool, force: bool = False) -> IndexResult:
        """One transaction; when another process catalogues the same publisher, title or AU at the same moment,
        the loser's insert fails on the unique key and the whole transaction is tried again, finding their rows."""
        try:
            for attempt in range(1, CONCURRENT_RETRIES + 1):
                try:
                    return self._catalogue_once(object_id, recovered=recovered, force=force)
                except IntegrityError:
                    if attempt == CONCURRENT_RETRIES:
                        raise
                    time.sleep(random.uniform(0.01, 0.1) * attempt)  # noqa: S311 - back-off jitter, not a secret
            raise AssertionError("unreachable")
        finally:
            # An inventory read whole for this (about 1 KB a file) is not kept by the store's cache for the search
            # index's sync, nor for the rest of the process: a reindex would otherwise keep hundreds of them.
            self.store.let_go(object_id)

    def _catalogue_once(self, object_id: str, *, recovered: bool, force: bool) -> IndexResult:
        # The object's files come from its listing one at a time, in the order of their paths (the inventory is
        # not held whole: see store.listing), joined as they come with the deposit record's, read the same way.
        with self.store.listing(object_id) as listing, contextlib.ExitStack() as opened:
            record, records, file_records = self._record_parts(listing, opened)
            return self._write(
                listing,
                record,
                records,
                file_records,
                self._release(listing),
                recovered=recovered,
                force=force,
            )

    def _write(
        self,
        listing: ObjectListing,
        record: DepositRecord,
        records: Iterator[ItemRecord],
        file_records: Iterator[tuple[str, FileRecord]],
        release: dict[str, object] | None,
        *,
        recovered: bool,
        force: bool,
    ) -> IndexResult:
        """The catalog write of :meth:`_catalogue_once`, from what it read of the object (one transaction)."""
        object_id, head = listing.object_id, listing.head
        now = self.catalog.clock.now()
        with self.catalog.session() as s:
            au = s.scalar(select(ArchivalUnit).where(ArchivalUnit.key == record.au.key))
            if au is not None and au.head_version >= head and not force:
                return IndexResult(au.key, au.head_version, indexed=False)
            title = _upsert_title(s, record, now)
            if au is None:
                au = ArchivalUnit(
                    key=record.au.key,
                    title=title,
                    label=record.au.label,
                    object_id=object_id,
                    head_version=0,
                    created_at=now,
                    updated_at=now,
                )
                s.add(au)
                s.flush()
            if release is not None:
                au.released_at = released_at(release)
                au.release_licence = str(release["licence"])
                au.release_trigger = str(release["trigger"])
            au.item_count, facts = _replace_items(s, au, records)  # counts kept: nothing counts items to show
            au.volumes = volume_counts((volume, year, n) for (volume, _issue, _date, year), n in facts.items())
            au.issues = issue_coverage(facts)
            del facts
            # Its head version's files and bytes, kept with its file rows: the node page never sums files.
            au.stored_files, au.stored_bytes = _replace_files(s, au.id, listing.files(), file_records)
            for n in range(au.head_version + 1, head + 1):  # the head's files are those just read: not read again
                counts = (au.stored_files, au.stored_bytes) if n == head else _counts(listing.files(n))
                self._add_version(s, au, object_id, listing.versions[n], n, (*counts, *listing.new_content(n)))
            if recovered:
                self.catalog.record_event(
                    s,
                    EventType.RECOVERY,
                    EventOutcome.SUCCESS,
                    agent=self.agent,
                    object_type="au",
                    object_key=au.key,
                    detail=f"catalogued v{head} after an interrupted write",
                    data={"version": head},
                )
            au.head_version = head
            au.state = str(AUState.COLLECTED) if au.state == str(AUState.CONFIGURED) else au.state
            au.updated_at = now
            title_summaries.refresh(s, [au.title_id])  # what the sitemap and KBART read of its title
            return IndexResult(au.key, head, indexed=True, items=au.item_count)

    def _add_version(
        self, s: Session, au: ArchivalUnit, object_id: str, v: dict[str, Any], n: int, counts: tuple[int, ...]
    ) -> None:
        """Record version ``n`` (``v``, its inventory entry; ``counts``, its files and bytes, and those of the
        content first stored in it)."""
        files, size, new_files, new_bytes = counts
        created = dt.datetime.fromisoformat(str(v["created"]).replace("Z", "+00:00"))
        user = str(v["user"].get("name", self.agent)) if isinstance(v.get("user"), dict) else self.agent
        message = str(v.get("message", ""))
        s.add(
            AUVersion(
                au_id=au.id,
                number=n,
                created=created,
                message=message,
                agent=user,
                files=files,
                bytes=size,
                new_files=new_files,
                new_bytes=new_bytes,
            )
        )
        self.catalog.record_event(
            s,
            EventType.INGESTION,
            EventOutcome.SUCCESS,
            agent=user,
            object_type="au",
            object_key=au.key,
            detail=f"v{n}: {message}",
            time=created,
            data={"version": n, "object_id": object_id},
        )

    def forget(
        self, object_id: str, *, event: tuple[EventType, EventOutcome, str, dict[str, Any]] | None = None
    ) -> str:
        """Take an object the store no longer holds out of the catalog (its AU, versions, items and files) and its
        items out of the search index; ``event`` (type, outcome, detail, data) is recorded about the AU in the same
        transaction. Returns the AU's key (the object id when the catalog did not know it). Idempotent."""
        with self.catalog.session() as s:
            au = s.scalar(select(ArchivalUnit).where(ArchivalUnit.object_id == object_id))
            key = au.key if au is not None else object_id
            if au is not None:
                items = list(s.scalars(select(Item.id).where(Item.au_id == au.id)))
                s.execute(delete(File).where(File.au_id == au.id))
                s.execute(delete(Item).where(Item.au_id == au.id))
                s.execute(delete(AUVersion).where(AUVersion.au_id == au.id))
                s.execute(delete(ArchivalUnit).where(ArchivalUnit.id == au.id))
                title_summaries.refresh(s, [au.title_id])
                s.add_all(SearchQueue(item_id=i) for i in items)  # gone from the catalog: removed from the index
            if event is not None:
                type_, outcome, detail, data = event
                self.catalog.record_event(
                    s, type_, outcome, agent=self.agent, object_type="au", object_key=key, detail=detail, data=data
                )
        self._sync_after_write()
        return key

    def reindex(
        self, progress: Progress | None = None, *, search: bool = True, report: ReindexReport | None = None
    ) -> ReindexReport:
        """Catalogue every object in storage again from its deposit record: items and files are made the record's
        even where the catalog knows the head version (that is how catalog disagreements, A006 and A007, are
        repaired), one transaction per object; every item is queued for the search index. ``progress`` is told the
        objects done of all; ``report``, when given, is the one filled as each object is done (for its counts)."""
        report = report if report is not None else ReindexReport()
        object_ids = list(self.store.iter_object_ids())
        for n, object_id in enumerate(object_ids, 1):
            try:
                result = self._catalogue(object_id, recovered=False, force=True)
                report.done.append(f"{result.au_key} v{result.version}")
                report.items += result.items
            except StorageError as exc:  # one unreadable object never stops the others
                report.problems.append(f"{object_id}: {exc.message}")
            if progress:
                progress(n, len(object_ids))
        with self.catalog.session() as s:  # every title's summary again: each object refreshed its own title's,
            title_summaries.rebuild(s.connection())  # this also drops those of titles left with no AU
        if search:  # else the caller writes the whole search index next (rebuild_search), far faster
            self.sync_search()
        return report

    # ---- the search index ----------------------------------------------------------------------------------

    def queue_everything(self) -> int:
        """Queue every item for the search index (after the engine was emptied or changed); returns the last queue
        entry's id. On PostgreSQL the queue is locked against writers while it is filled, so every entry up to that
        id belongs to a transaction that has committed: its item is read as it now is."""
        with self.catalog.session() as s:
            if s.get_bind().dialect.name == "postgresql":  # SQLite's writers take turns anyway
                s.execute(text("LOCK TABLE search_queue IN EXCLUSIVE MODE"))
            s.execute(insert(SearchQueue).from_select(["item_id"], select(Item.id).order_by(Item.id)))
            return int(s.scalar(select(func.max(SearchQueue.id))) or 0)

    def catalog_documents(self, batch: int = REBUILD_BATCH) -> Iterator[list[SearchDocument]]:
        """Every item's search document, in batches read by keyset (item id), only the columns a document needs."""
        after = 0
        while True:
            with self.catalog.session() as s:
                rows = (
                    s.connection()
                    .execute(
                        select(*DOCUMENT_COLUMNS)
                        .join(ArchivalUnit, Item.au_id == ArchivalUnit.id)
                        .join(Title, ArchivalUnit.title_id == Title.id)
                        .outerjoin(Publisher, Title.publisher_id == Publisher.id)
                        .where(Item.id > after)
                        .order_by(Item.id)
                        .limit(batch)
                    )
                    .all()
                )
            if not rows:
                return
            yield [_document((*r[:4], _json(r[4]), _json(r[5]), *r[6:])) for r in rows]
            after = rows[-1][0]

    def rebuild_search(self, progress: Progress | None = None) -> int:
        """Write the whole search index again from the catalog (large batches, one commit where the engine can).
        Every item is queued first, and those entries leave the queue only once the engine has written them all: a
        rebuild cut short leaves them queued, and the next start (or sync) writes them; never an empty index with
        nothing left to put back. Items changed meanwhile are queued again after, and written at the end."""
        last = self.queue_everything()
        with self.catalog.session() as s:
            total = int(s.scalar(select(func.count(Item.id))) or 0)

        def batches() -> Iterator[list[SearchDocument]]:
            done = 0
            for batch in self.catalog_documents():
                yield batch
                done += len(batch)  # the engine asks for the next batch once it holds this one
                if progress:
                    progress(done, max(total, done))

        written = self.search.rebuild(batches())
        with self.catalog.session() as s:
            s.execute(delete(SearchQueue).where(SearchQueue.id <= last))
        self.sync_search()
        return written

    def sync_search(self, progress: Progress | None = None) -> int:
        """Write the documents of every queued item (or remove those of items that are gone), in batches; each
        batch leaves the queue only once the index has it. Safe to run in several processes at once."""
        with self.catalog.session() as s:
            total = s.scalar(select(func.count(SearchQueue.id))) or 0
        if not total:  # nothing queued: the index is not even opened for writing
            return 0
        done = 0
        # The engine's writer threads allocate in malloc arenas of their own, which cannot reuse what the catalog
        # write just freed: that is given back first, and what each batch frees after it (issue 16).
        give_back()
        with self.search.batches():  # one writer for every batch, each committed before it leaves the queue
            while True:
                with self.catalog.session() as s:
                    rows = s.execute(
                        select(SearchQueue.id, SearchQueue.item_id).order_by(SearchQueue.id).limit(SEARCH_BATCH)
                    ).all()
                    if not rows:
                        return done
                    ids = sorted({item_id for _, item_id in rows})
                    items = list(
                        s.scalars(
                            select(Item)
                            .where(Item.id.in_(ids))
                            .options(joinedload(Item.au).joinedload(ArchivalUnit.title).joinedload(Title.publisher))
                        )
                    )
                    documents = [search_document(i) for i in items]
                self.search.replace(documents)
                self.search.remove(sorted(set(ids) - {d.id for d in documents}))
                with self.catalog.session() as s:
                    s.execute(delete(SearchQueue).where(SearchQueue.id.in_([row_id for row_id, _ in rows])))
                del items, documents
                give_back()
                done += len(rows)
                if progress:
                    progress(done, max(total, done))
