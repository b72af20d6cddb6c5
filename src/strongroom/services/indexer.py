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
import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Text, cast, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from strongroom.catalog.models import ArchivalUnit, AUVersion, File, Item, Publisher, SearchQueue, Title
from strongroom.catalog.repo import Catalog
from strongroom.domain.identifiers import public_id, slug
from strongroom.domain.model import AUState, EventOutcome, EventType
from strongroom.domain.volumes import issue_coverage, volume_counts
from strongroom.errors import StorageError
from strongroom.formats.records import DEPOSIT_RECORD, DepositRecord, FileRecord, ItemRecord, RecordError
from strongroom.formats.release_record import MAX_RECORD_BYTES, RELEASE_RECORD, parse_release, released_at
from strongroom.search.base import SearchDocument, SearchIndex, SearchIndexBusy
from strongroom.store.base import ObjectStore

SEARCH_BATCH = 500
REBUILD_BATCH = 5_000  # items read from the catalog at a time when the whole search index is written again
CONCURRENT_RETRIES = 5
Progress = Callable[[int, int], None]  # (done, total)


@dataclass
class ReindexReport:
    done: list[str] = field(default_factory=list)  # "AU key vN" of each object catalogued
    problems: list[str] = field(default_factory=list)  # objects that could not be, and why


@dataclass(frozen=True)
class IndexResult:
    au_key: str
    version: int
    indexed: bool  # False when the catalog already matched the object


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


def _queue(s: Session, item_ids: list[int]) -> None:
    if item_ids:
        s.execute(insert(SearchQueue), [{"item_id": i} for i in item_ids])


def _replace_items(
    s: Session, au: ArchivalUnit, records: tuple[ItemRecord, ...]
) -> tuple[dict[str, int], list[ItemFacts]]:
    """Make the AU's items those of the record; every item touched or removed is queued for the search index.
    Returns each item's id by key, and the (volume, issue, date, year) of each for the AU's counts.

    Items are written ITEM_BATCH at a time as plain rows (bulk INSERT … RETURNING and bulk UPDATE by primary key),
    never as ORM objects: a deposit of tens of thousands of articles holds one batch of rows at a time, not a
    session full of objects. An item that was already catalogued keeps its id."""
    existing: dict[str, int] = {
        key: id_ for key, id_ in s.execute(select(Item.item_key, Item.id).where(Item.au_id == au.id))
    }
    wanted = {r.key: r for r in records}
    s.execute(delete(File).where(File.au_id == au.id))
    gone = [id_ for key, id_ in existing.items() if key not in wanted]
    for n in range(0, len(gone), ITEM_BATCH):
        s.execute(delete(Item).where(Item.id.in_(gone[n : n + ITEM_BATCH])))
    _queue(s, gone)
    ids: dict[str, int] = {}
    facts: list[ItemFacts] = []
    batch = list(wanted.values())
    for n in range(0, len(batch), ITEM_BATCH):
        new_rows, updates = [], []
        for rec in batch[n : n + ITEM_BATCH]:
            row = _item_row(rec)
            facts.append((row["volume"], row["issue"], row["publication_date"], row["year"]))
            found = existing.get(rec.key)
            if found is not None:
                ids[rec.key] = found
                updates.append({"id": found, **row})
            else:
                new_rows.append({"au_id": au.id, "item_key": rec.key, "public_id": public_id(au.key, rec.key), **row})
        if updates:
            s.execute(update(Item), updates)
        if new_rows:
            ids.update((key, id_) for key, id_ in s.execute(insert(Item).returning(Item.item_key, Item.id), new_rows))
        _queue(s, [ids[rec.key] for rec in batch[n : n + ITEM_BATCH]])
    return ids, facts


class Indexer:
    def __init__(self, catalog: Catalog, store: ObjectStore, search: SearchIndex, *, agent: str) -> None:
        self.catalog = catalog
        self.store = store
        self.search = search
        self.agent = agent

    def read_record(self, object_id: str) -> DepositRecord:
        """The object's deposit record (as ``DepositRecord.from_bytes`` reads it). Its bytes, its text and its parsed
        JSON are each let go as soon as the next form is made, and each item's and file's JSON once it is converted:
        a record of tens of thousands of articles is never held in all of these forms at once."""
        with self.store.open_file(object_id, DEPOSIT_RECORD) as fh:
            raw = fh.read()
        try:
            text = raw.decode("utf-8")
            del raw
            data = json.loads(text)
            del text
        except (UnicodeDecodeError, ValueError) as exc:
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
        for attempt in range(1, CONCURRENT_RETRIES + 1):
            try:
                return self._catalogue_once(object_id, recovered=recovered, force=force)
            except IntegrityError:
                if attempt == CONCURRENT_RETRIES:
                    raise
                time.sleep(random.uniform(0.01, 0.1) * attempt)  # noqa: S311 - back-off jitter, not a secret
        raise AssertionError("unreachable")

    def _catalogue_once(self, object_id: str, *, recovered: bool, force: bool) -> IndexResult:
        inventory = self.store.inventory(object_id)
        head = int(inventory["head"][1:])
        record = self.read_record(object_id)
        release = self.read_release(object_id)
        files = self.store.files(object_id)
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
            items, facts = _replace_items(s, au, record.items)
            au.item_count = len(items)  # the AU's counts, kept here so that nothing counts items to show them
            au.volumes = volume_counts((volume, year, 1) for volume, _issue, _date, year in facts)
            au.issues = issue_coverage(facts)
            del facts
            au.stored_files = len(files)  # its head version, kept with its file rows: the node page never sums files
            au.stored_bytes = sum(f.size for f in files)
            rows: list[dict[str, Any]] = []
            for f in files:  # executemany in batches, no ORM object per file: an AU can hold tens of thousands
                meta = record.files.get(f.logical_path)
                rows.append(
                    {
                        "au_id": au.id,
                        "item_id": items.get(meta.item) if meta and meta.item else None,
                        "logical_path": f.logical_path,
                        "size": f.size,
                        "sha512": f.sha512,
                        "sha256": f.sha256,
                        "media_type": meta.media_type if meta else "application/json",
                        "role": meta.role if meta else "metadata",
                        "source": meta.source if meta else "generated",
                        "version": f.version,
                    }
                )
                if len(rows) >= FILE_BATCH:
                    s.execute(insert(File), rows)
                    rows.clear()
            if rows:
                s.execute(insert(File), rows)
            for n in range(au.head_version + 1, head + 1):
                self._add_version(s, au, object_id, inventory["versions"][f"v{n}"], n)
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
            return IndexResult(au.key, head, indexed=True)

    def _add_version(self, s: Session, au: ArchivalUnit, object_id: str, v: dict[str, Any], n: int) -> None:
        state = self.store.files(object_id, n)
        new = {f.content_path: f.size for f in state if f.content_path.startswith(f"v{n}/")}
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
                files=len(state),
                bytes=sum(f.size for f in state),
                new_files=len(new),
                new_bytes=sum(new.values()),
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
                s.add_all(SearchQueue(item_id=i) for i in items)  # gone from the catalog: removed from the index
            if event is not None:
                type_, outcome, detail, data = event
                self.catalog.record_event(
                    s, type_, outcome, agent=self.agent, object_type="au", object_key=key, detail=detail, data=data
                )
        self._sync_after_write()
        return key

    def reindex(self, progress: Progress | None = None, *, search: bool = True) -> ReindexReport:
        """Catalogue every object in storage again from its deposit record: items and files are rewritten even where
        the catalog knows the head version (that is how catalog disagreements, A006 and A007, are repaired)."""
        report = ReindexReport()
        object_ids = list(self.store.iter_object_ids())
        for n, object_id in enumerate(object_ids, 1):
            try:
                result = self._catalogue(object_id, recovered=False, force=True)
                report.done.append(f"{result.au_key} v{result.version}")
            except StorageError as exc:  # one unreadable object never stops the others
                report.problems.append(f"{object_id}: {exc.message}")
            if progress:
                progress(n, len(object_ids))
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
                done += len(rows)
                if progress:
                    progress(done, max(total, done))
