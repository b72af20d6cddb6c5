"""The deposit record: ``strongroom/deposit.json``, written beside every version of every AU, is the contract by
which the catalog is rebuilt from storage alone. Deposit, web harvest, OAI-PMH harvest and release write it; the
indexer reads it. This module is its one definition.

Records are written in one canonical form (sorted keys, two-space indent, UTF-8, every field present), so the same
content always gives the same bytes and an unchanged deposit is recognised as unchanged. Reading is lenient where
it is safe (fields an older writer left out take their defaults; keys nobody reads are ignored) and strict where
it matters (a field of the wrong type is an error naming it).

Must not import: anything but the error tree.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, TypeVar

from strongroom.errors import StorageError

DEPOSIT_RECORD = "strongroom/deposit.json"
RECORD_FORMAT = "strongroom-deposit/1"

T = TypeVar("T")


class RecordError(StorageError):
    """A deposit record that cannot be read: not JSON, another format, or a field of the wrong type."""


def _str(data: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str | None:
    value = data.get(key, default)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # a volume or issue written as a number
    raise RecordError(f"{where}: {key} must be text, not {type(value).__name__}")


def _req(data: Mapping[str, Any], key: str, where: str) -> str:
    value = _str(data, key, where)
    if not value:
        raise RecordError(f"{where}: {key} is missing")
    return value


def _int(data: Mapping[str, Any], key: str, where: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise RecordError(f"{where}: {key} must be a whole number")
    try:
        return int(value)
    except ValueError:
        raise RecordError(f"{where}: {key} must be a whole number, not {value!r}") from None


def _texts(data: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = data.get(key) or []
    if not isinstance(value, list | tuple):
        raise RecordError(f"{where}: {key} must be a list")
    return tuple(str(v) for v in value if v is not None)


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise RecordError(f"{where} must be an object")
    return value


@dataclass(frozen=True)
class ContributorRecord:
    name: str
    role: str = "author"
    orcid: str | None = None
    affiliations: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "orcid": self.orcid, "affiliations": list(self.affiliations)}

    @classmethod
    def from_dict(cls, data: Any, where: str) -> ContributorRecord:
        data = _mapping(data, where)
        return cls(
            name=_str(data, "name", where) or "",
            role=_str(data, "role", where) or "author",
            orcid=_str(data, "orcid", where),
            affiliations=_texts(data, "affiliations", where),
        )


@dataclass(frozen=True)
class ItemRecord:
    """One article, chapter or book, as the catalog shows it."""

    key: str
    title: str | None = None
    doi: str | None = None
    url: str | None = None
    metadata_file: str | None = None
    files: tuple[str, ...] = ()
    contributors: tuple[ContributorRecord, ...] = ()
    publication_date: str | None = None  # ISO 8601 date
    year: int | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    abstract: str | None = None
    keywords: tuple[str, ...] = ()
    language: str | None = None
    licence: str | None = None
    item_type: str = "other"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "contributors":
                value = [c.to_dict() for c in value]
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: Any, where: str = "item") -> ItemRecord:
        data = _mapping(data, where)
        key = _req(data, "key", where)
        where = f"item {key!r}"
        contributors = data.get("contributors") or []
        if not isinstance(contributors, list):
            raise RecordError(f"{where}: contributors must be a list")
        return cls(
            key=key,
            title=_str(data, "title", where),
            doi=_str(data, "doi", where),
            url=_str(data, "url", where),
            metadata_file=_str(data, "metadata_file", where),
            files=_texts(data, "files", where),
            contributors=tuple(ContributorRecord.from_dict(c, f"{where} contributor") for c in contributors),
            publication_date=_str(data, "publication_date", where),
            year=_int(data, "year", where),
            volume=_str(data, "volume", where),
            issue=_str(data, "issue", where),
            pages=_str(data, "pages", where),
            abstract=_str(data, "abstract", where),
            keywords=_texts(data, "keywords", where),
            language=_str(data, "language", where),
            licence=_str(data, "licence", where),
            item_type=_str(data, "item_type", where) or "other",
        )

    def updated_by(self, newer: ItemRecord) -> ItemRecord:
        """This item with what ``newer`` says filled in or corrected (an empty value in ``newer`` says nothing)."""
        changes = {f.name: getattr(newer, f.name) for f in fields(self) if getattr(newer, f.name) not in (None, "", ())}
        return replace(self, **changes)


def merge_items(old: tuple[ItemRecord, ...], new: list[ItemRecord]) -> tuple[ItemRecord, ...]:
    """Items by key: a new crawl or OAI-PMH harvest fills or updates an item; an item the publisher no longer shows
    is kept (this is an archive)."""
    merged = {i.key: i for i in old}
    for item in new:
        merged[item.key] = merged[item.key].updated_by(item) if item.key in merged else item
    return tuple(merged[k] for k in sorted(merged))


@dataclass(frozen=True)
class FileRecord:
    """What a stored file is: its media type, its role (full text, metadata, supplement...), where it came from
    (a deposit, a harvest, or written by Strongroom) and the item it belongs to."""

    media_type: str
    role: str
    source: str
    item: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"media_type": self.media_type, "role": self.role, "source": self.source, "item": self.item}

    @classmethod
    def from_dict(cls, data: Any, where: str) -> FileRecord:
        data = _mapping(data, where)
        return cls(
            media_type=_str(data, "media_type", where) or "application/octet-stream",
            role=_str(data, "role", where) or "other",
            source=_str(data, "source", where) or "generated",
            item=_str(data, "item", where),
        )


@dataclass(frozen=True)
class PublisherRecord:
    name: str
    country: str | None = None  # ISO 3166-1 alpha-2
    platform: str | None = None


@dataclass(frozen=True)
class TitleRecord:
    key: str
    name: str
    kind: str = "journal"
    issn_print: str | None = None
    issn_online: str | None = None
    isbn: str | None = None
    languages: tuple[str, ...] = ()
    licence: str | None = None


@dataclass(frozen=True)
class AuRecord:
    key: str
    label: str


@dataclass(frozen=True)
class DepositRecord:
    package_form: str  # a package form (bagit, jasper, jats), or harvest
    publisher: PublisherRecord
    title: TitleRecord
    au: AuRecord
    items: tuple[ItemRecord, ...] = ()
    files: dict[str, FileRecord] = field(default_factory=dict)  # logical path -> what it is
    bag_info: dict[str, list[str]] = field(default_factory=dict)  # a bag's bag-info.txt (a label may repeat)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": RECORD_FORMAT,
            "package_form": self.package_form,
            "publisher": {
                "name": self.publisher.name,
                "country": self.publisher.country,
                "platform": self.publisher.platform,
            },
            "title": {
                "key": self.title.key,
                "name": self.title.name,
                "kind": self.title.kind,
                "issn_print": self.title.issn_print,
                "issn_online": self.title.issn_online,
                "isbn": self.title.isbn,
                "languages": list(self.title.languages),
                "licence": self.title.licence,
            },
            "au": {"key": self.au.key, "label": self.au.label},
            "bag_info": {k: list(v) for k, v in self.bag_info.items()},
            "items": [i.to_dict() for i in self.items],
            "files": {path: f.to_dict() for path, f in self.files.items()},
        }

    def to_bytes(self) -> bytes:
        """The record as stored: the same record always gives the same bytes."""
        return (json.dumps(self.to_dict(), sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")

    @classmethod
    def from_dict(cls, data: Any) -> DepositRecord:
        data = _mapping(data, "the deposit record")
        if data.get("format") != RECORD_FORMAT:
            raise RecordError(f"{DEPOSIT_RECORD} has unknown format {data.get('format')!r}")
        pub = _mapping(data.get("publisher"), "publisher")
        title = _mapping(data.get("title"), "title")
        au = _mapping(data.get("au"), "au")
        items = data.get("items") or []
        if not isinstance(items, list):
            raise RecordError("items must be a list")
        bag_info = _mapping(data.get("bag_info") or {}, "bag_info")
        return cls(
            package_form=_str(data, "package_form", "the deposit record") or "unknown",
            publisher=PublisherRecord(
                name=_req(pub, "name", "publisher"),
                country=_str(pub, "country", "publisher"),
                platform=_str(pub, "platform", "publisher"),
            ),
            title=TitleRecord(
                key=_req(title, "key", "title"),
                name=_req(title, "name", "title"),
                kind=_str(title, "kind", "title") or "journal",
                issn_print=_str(title, "issn_print", "title"),
                issn_online=_str(title, "issn_online", "title"),
                isbn=_str(title, "isbn", "title"),
                languages=_texts(title, "languages", "title"),
                licence=_str(title, "licence", "title"),
            ),
            au=AuRecord(key=_req(au, "key", "au"), label=_req(au, "label", "au")),
            items=tuple(ItemRecord.from_dict(i) for i in items),
            files={
                str(path): FileRecord.from_dict(meta, f"file {path!r}")
                for path, meta in _mapping(data.get("files") or {}, "files").items()
            },
            bag_info={str(k): [str(x) for x in (v if isinstance(v, list) else [v])] for k, v in bag_info.items()},
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> DepositRecord:
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # RecursionError: nested past the parser
            raise RecordError(f"{DEPOSIT_RECORD} is not JSON: {exc}") from None
        return cls.from_dict(data)
