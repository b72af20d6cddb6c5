"""The archive's own tables, which nearly every command reads: publishers, titles, archival units and their
versions, items, files, events and the search queue (and the declarative base every table shares). Imported through
:mod:`strongroom.catalog.models`, which also names the other use cases' tables.

The classes are mapped onto the Core tables of :mod:`strongroom.catalog.tables`, which define their columns (and
say what each keeps): the annotations here only type the attributes. What reads the archive without the ORM selects
from those tables; what writes it, or follows relationships, uses these classes.

Must not import: services, faces, the other tables (no relationship leads from these to them).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import JSON
from sqlalchemy.orm import DeclarativeBase, Mapped, relationship, validates

from strongroom.catalog import tables
from strongroom.catalog.tables import UTCDateTime
from strongroom.domain.names import sort_key

__all__ = [
    "SEARCH_ENGINE_OBJECTS",
    "AUVersion",
    "ArchivalUnit",
    "Base",
    "Event",
    "File",
    "Item",
    "Publisher",
    "SearchQueue",
    "Title",
    "TitleSummary",
    "UTCDateTime",
    "include_name",
]


class Base(DeclarativeBase):
    metadata = tables.metadata
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Publisher(Base):
    __tablename__ = "publishers"
    __table__ = tables.publishers

    id: Mapped[int]
    key: Mapped[str]
    name: Mapped[str]
    sort_key: Mapped[str]
    country: Mapped[str | None]
    platform: Mapped[str | None]
    status: Mapped[str]
    created_at: Mapped[dt.datetime]

    titles: Mapped[list[Title]] = relationship(back_populates="publisher")

    @validates("name")
    def _keyed(self, _: str, name: str) -> str:
        self.sort_key = sort_key(name)  # every name given keeps its sort key (domain.names), renames too
        return name


class Title(Base):
    __tablename__ = "titles"
    __table__ = tables.titles

    id: Mapped[int]
    key: Mapped[str]
    publisher_id: Mapped[int | None]
    name: Mapped[str]
    sort_key: Mapped[str]
    kind: Mapped[str]
    issn_print: Mapped[str | None]
    issn_online: Mapped[str | None]
    issn_l: Mapped[str | None]
    isbn: Mapped[str | None]
    languages: Mapped[list[Any]]
    licence: Mapped[str | None]
    created_at: Mapped[dt.datetime]

    publisher: Mapped[Publisher | None] = relationship(back_populates="titles")
    aus: Mapped[list[ArchivalUnit]] = relationship(back_populates="title")

    @validates("name")
    def _keyed(self, _: str, name: str) -> str:
        self.sort_key = sort_key(name)  # every name given keeps its sort key (domain.names), renames too
        return name


class ArchivalUnit(Base):
    __tablename__ = "archival_units"
    __table__ = tables.archival_units

    id: Mapped[int]
    key: Mapped[str]
    title_id: Mapped[int]
    label: Mapped[str]
    state: Mapped[str]
    object_id: Mapped[str]
    head_version: Mapped[int]
    item_count: Mapped[int]
    volumes: Mapped[list[Any]]
    issues: Mapped[list[Any]]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    released_at: Mapped[dt.datetime | None]
    release_licence: Mapped[str | None]
    release_trigger: Mapped[str | None]
    last_audit_at: Mapped[dt.datetime | None]
    last_audit_ok: Mapped[bool | None]
    stored_files: Mapped[int]
    stored_bytes: Mapped[int]
    last_poll_at: Mapped[dt.datetime | None]
    last_poll_outcome: Mapped[str | None]
    last_conclusive_poll_at: Mapped[dt.datetime | None]
    poll_alarms: Mapped[list[Any]]

    title: Mapped[Title] = relationship(back_populates="aus")
    versions: Mapped[list[AUVersion]] = relationship(back_populates="au", order_by="AUVersion.number")


class TitleSummary(Base):
    """What the sitemap and KBART read of a title, one row per title that has AUs (see ``tables.title_summaries``)."""

    __tablename__ = "title_summaries"
    __table__ = tables.title_summaries

    title_id: Mapped[int]
    last_released: Mapped[dt.datetime | None]
    volumes: Mapped[list[Any]]
    volume_count: Mapped[int]
    released: Mapped[bool]
    coverage: Mapped[list[Any]]
    runs: Mapped[int]


class AUVersion(Base):
    __tablename__ = "au_versions"
    __table__ = tables.au_versions

    id: Mapped[int]
    au_id: Mapped[int]
    number: Mapped[int]
    created: Mapped[dt.datetime]
    message: Mapped[str]
    agent: Mapped[str]
    files: Mapped[int]
    bytes: Mapped[int]
    new_files: Mapped[int]
    new_bytes: Mapped[int]

    au: Mapped[ArchivalUnit] = relationship(back_populates="versions")


class Item(Base):
    __tablename__ = "items"
    __table__ = tables.items

    id: Mapped[int]
    au_id: Mapped[int]
    item_key: Mapped[str]
    public_id: Mapped[str | None]
    doi: Mapped[str | None]
    title: Mapped[str]
    authors: Mapped[list[Any]]
    publication_date: Mapped[dt.date | None]
    year: Mapped[int | None]
    volume: Mapped[str | None]
    issue: Mapped[str | None]
    pages: Mapped[str | None]
    abstract: Mapped[str | None]
    keywords: Mapped[list[Any]]
    language: Mapped[str | None]
    licence: Mapped[str | None]
    item_type: Mapped[str]
    url: Mapped[str | None]

    au: Mapped[ArchivalUnit] = relationship()
    files: Mapped[list[File]] = relationship(back_populates="item")


class File(Base):
    __tablename__ = "files"
    __table__ = tables.files

    id: Mapped[int]
    au_id: Mapped[int]
    item_id: Mapped[int | None]
    logical_path: Mapped[str]
    size: Mapped[int]
    sha512: Mapped[str]
    sha256: Mapped[str]
    media_type: Mapped[str]
    role: Mapped[str]
    source: Mapped[str]
    version: Mapped[int]

    item: Mapped[Item | None] = relationship(back_populates="files")


class Event(Base):
    """A PREMIS-style event: what happened (type, outcome, detail) to which object, by which agent, when."""

    __tablename__ = "events"
    __table__ = tables.events

    id: Mapped[int]
    uuid: Mapped[str]
    type: Mapped[str]
    outcome: Mapped[str]
    agent: Mapped[str]
    time: Mapped[dt.datetime]
    detail: Mapped[str]
    object_type: Mapped[str]
    object_key: Mapped[str]
    data: Mapped[dict[str, Any]]


class SearchQueue(Base):
    """Items whose search documents are to be written (or removed): see ``tables.search_queue``."""

    __tablename__ = "search_queue"
    __table__ = tables.search_queue

    id: Mapped[int]
    item_id: Mapped[int]


# The search engines' own tables (strongroom.search) live in the catalog's database but belong to the engines,
# which make them; autogenerate and the schema test skip them by name.
SEARCH_ENGINE_OBJECTS = ("searchindex_", "ix_searchindex_")


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    return not (name or "").startswith(SEARCH_ENGINE_OBJECTS)
