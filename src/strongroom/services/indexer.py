"""Cataloguing an OCFL object: reads the object's inventory and its ``strongroom/deposit.json`` and makes the
catalog agree with the object's head version.

This is the only path by which stored content enters the catalog, used after every deposit and by crash
recovery and ``strongroom reindex``; so the catalog is always a faithful index of the storage root.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from strongroom.catalog.models import ArchivalUnit, AUVersion, File, Item, Publisher, Title
from strongroom.catalog.repo import Catalog
from strongroom.catalog.search import delete_fts, sync_fts
from strongroom.domain.identifiers import public_id, slug
from strongroom.domain.model import AUState, EventOutcome, EventType
from strongroom.errors import StorageError
from strongroom.ingest.deposit import DEPOSIT_RECORD, RECORD_FORMAT
from strongroom.services.release_record import read_release, released_at
from strongroom.store.ocfl import OcflStore


@dataclass(frozen=True)
class IndexResult:
    au_key: str
    version: int
    indexed: bool  # False when the catalog already matched the object


@dataclass(frozen=True)
class StoredFile:
    logical_path: str
    content_path: str
    digest: str
    other_digest: str | None
    size: int


def stored_files(store: OcflStore, object_id: str, inventory: dict[str, Any]) -> list[StoredFile]:
    """The head version's files with both digests (inventory digest + fixity block) and sizes."""
    alg = inventory["digestAlgorithm"]
    other = "sha256" if alg == "sha512" else "sha512"
    other_by_content = {cp: digest for digest, cps in inventory.get("fixity", {}).get(other, {}).items() for cp in cps}
    root = store.object_path(object_id)
    out = []
    for digest, logical_paths in inventory["versions"][inventory["head"]]["state"].items():
        content_path = inventory["manifest"][digest][0]
        size = (root / content_path).stat().st_size
        for lp in logical_paths:
            out.append(StoredFile(lp, content_path, digest, other_by_content.get(content_path), size))
    return sorted(out, key=lambda f: f.logical_path)


def _search_text(rec: dict[str, Any]) -> str:
    parts = [rec.get("title") or "", rec.get("abstract") or "", rec.get("doi") or ""]
    parts += [c.get("name", "") for c in rec.get("contributors", [])]
    parts += [str(k) for k in rec.get("keywords", [])]
    return "\n".join(p for p in parts if p)


def _upsert_title(s: Session, record: dict[str, Any], now: dt.datetime) -> Title:
    pub_rec = record["publisher"]
    pub_key = slug(pub_rec["name"]) + (f"-{pub_rec['country'].lower()}" if pub_rec.get("country") else "")
    publisher = s.scalar(select(Publisher).where(Publisher.key == pub_key))
    if publisher is None:
        publisher = Publisher(key=pub_key, name=pub_rec["name"], status="active", created_at=now)
        s.add(publisher)
    publisher.country = pub_rec.get("country") or publisher.country
    publisher.platform = pub_rec.get("platform") or publisher.platform
    t = record["title"]
    title = s.scalar(select(Title).where(Title.key == t["key"]))
    if title is None:
        title = Title(key=t["key"], name=t["name"], kind=t["kind"], languages=[], created_at=now)
        s.add(title)
    title.publisher = publisher
    title.name = t["name"]
    title.issn_print = t.get("issn_print") or title.issn_print
    title.issn_online = t.get("issn_online") or title.issn_online
    title.issn_l = title.issn_l or title.issn_print or title.issn_online
    title.isbn = t.get("isbn") or title.isbn
    title.languages = sorted(set(title.languages or []) | set(t.get("languages") or []))
    title.licence = t.get("licence") or title.licence
    return title


def _replace_items(s: Session, au: ArchivalUnit, records: list[dict[str, Any]]) -> dict[str, Item]:
    existing = {i.item_key: i for i in s.scalars(select(Item).where(Item.au_id == au.id))}
    wanted = {r["key"]: r for r in records}
    s.execute(delete(File).where(File.au_id == au.id))
    for key, item in existing.items():
        if key not in wanted:
            delete_fts(s, item.id, item.search_text)
            s.delete(item)
    out = {}
    old_texts: dict[str, str | None] = {}
    for key, rec in wanted.items():
        found = existing.get(key)
        old_texts[key] = found.search_text if found is not None else None
        item = found if found is not None else Item(au_id=au.id, item_key=key, public_id=public_id(au.key, key))
        if found is None:
            s.add(item)
        date = rec.get("publication_date")
        item.doi = rec.get("doi")
        item.title = rec.get("title") or key
        item.authors = rec.get("contributors", [])
        item.publication_date = dt.date.fromisoformat(date) if date else None
        item.year = rec.get("year")
        item.volume = rec.get("volume")
        item.issue = rec.get("issue")
        item.pages = rec.get("pages")
        item.abstract = rec.get("abstract")
        item.keywords = rec.get("keywords", [])
        item.language = rec.get("language")
        item.licence = rec.get("licence")
        item.item_type = rec.get("item_type") or "other"
        item.url = rec.get("url")
        item.search_text = _search_text(rec)
        out[key] = item
    s.flush()  # one flush for the AU's items (SQLAlchemy batches the inserts); the search index needs their ids
    for key, item in out.items():
        sync_fts(s, item, old_texts[key])
    return out


def index_object(
    catalog: Catalog, store: OcflStore, object_id: str, *, agent: str, recovered: bool = False
) -> IndexResult:
    inventory = store.inventory(object_id)
    head = int(inventory["head"][1:])
    with store.open_file(object_id, DEPOSIT_RECORD) as fh:
        record = json.loads(fh.read().decode("utf-8"))
    if record.get("format") != RECORD_FORMAT:
        raise StorageError(f"object {object_id}: {DEPOSIT_RECORD} has unknown format {record.get('format')!r}")
    files = stored_files(store, object_id, inventory)
    root = store.object_path(object_id)
    sizes = {cp: (root / cp).stat().st_size for cps in inventory["manifest"].values() for cp in cps}
    file_meta: dict[str, Any] = record.get("files", {})
    now = catalog.clock.now()
    au_rec = record["au"]
    with catalog.session() as s:
        au = s.scalar(select(ArchivalUnit).where(ArchivalUnit.key == au_rec["key"]))
        if au is not None and au.head_version >= head:
            return IndexResult(au.key, au.head_version, indexed=False)
        title = _upsert_title(s, record, now)
        if au is None:
            au = ArchivalUnit(
                key=au_rec["key"],
                title=title,
                label=au_rec["label"],
                object_id=object_id,
                head_version=0,
                created_at=now,
                updated_at=now,
            )
            s.add(au)
            s.flush()
        items = _replace_items(s, au, record.get("items", []))
        release = read_release(store, object_id, {f.logical_path for f in files})
        if release is not None:
            au.released_at = released_at(release)
            au.release_licence = str(release["licence"])
            au.release_trigger = str(release["trigger"])
        alg = inventory["digestAlgorithm"]
        for f in files:
            meta = file_meta.get(f.logical_path, {})
            sha512 = f.digest if alg == "sha512" else (f.other_digest or "")
            sha256 = f.digest if alg == "sha256" else (f.other_digest or "")
            item_key = meta.get("item")
            s.add(
                File(
                    au_id=au.id,
                    item_id=items[item_key].id if item_key in items else None,
                    logical_path=f.logical_path,
                    size=f.size,
                    sha512=sha512,
                    sha256=sha256,
                    media_type=meta.get("media_type", "application/json"),
                    role=meta.get("role", "metadata"),
                    source=meta.get("source", "generated"),
                    version=int(f.content_path.split("/", 1)[0][1:]),
                )
            )
        for n in range(au.head_version + 1, head + 1):
            v = inventory["versions"][f"v{n}"]
            in_version = [cp for cp in sizes if cp.startswith(f"v{n}/")]
            created = dt.datetime.fromisoformat(v["created"].replace("Z", "+00:00"))
            user = v.get("user", {}).get("name", agent)
            state_files = sum(len(lps) for lps in v["state"].values())
            state_bytes = sum(sizes[inventory["manifest"][d][0]] * len(lps) for d, lps in v["state"].items())
            s.add(
                AUVersion(
                    au_id=au.id,
                    number=n,
                    created=created,
                    message=v.get("message", ""),
                    agent=user,
                    files=state_files,
                    bytes=state_bytes,
                    new_files=len(in_version),
                    new_bytes=sum(sizes[cp] for cp in in_version),
                )
            )
            catalog.record_event(
                s,
                EventType.INGESTION,
                EventOutcome.SUCCESS,
                agent=user,
                object_type="au",
                object_key=au.key,
                detail=f"v{n}: {v.get('message', '')}",
                time=created,
                data={"version": n, "object_id": object_id},
            )
        if recovered:
            catalog.record_event(
                s,
                EventType.RECOVERY,
                EventOutcome.SUCCESS,
                agent=agent,
                object_type="au",
                object_key=au.key,
                detail=f"catalogued v{head} after an interrupted write",
                data={"version": head},
            )
        au.head_version = head
        au.state = str(AUState.COLLECTED) if au.state == str(AUState.CONFIGURED) else au.state
        au.updated_at = now
        return IndexResult(au.key, head, indexed=True)
