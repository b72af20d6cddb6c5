"""The archive's own tables, which nearly every command reads: publishers, titles, archival units and their
versions, items, files, events and the search queue (and the declarative base every table shares). Imported through
:mod:`strongroom.catalog.models`, which also names the other use cases' tables.

Must not import: services, faces, the other tables (no relationship leads from these to them).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware datetimes stored as UTC on both SQLite (which drops the zone) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the catalog; pass a timezone-aware one")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Publisher(Base):
    __tablename__ = "publishers"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(500))
    country: Mapped[str | None] = mapped_column(String(2))
    platform: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="active")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    titles: Mapped[list[Title]] = relationship(back_populates="publisher")


class Title(Base):
    __tablename__ = "titles"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    publisher_id: Mapped[int | None] = mapped_column(ForeignKey("publishers.id"), index=True)
    name: Mapped[str] = mapped_column(String(1000))
    kind: Mapped[str] = mapped_column(String(20), default="journal")
    issn_print: Mapped[str | None] = mapped_column(String(9), index=True)
    issn_online: Mapped[str | None] = mapped_column(String(9), index=True)
    issn_l: Mapped[str | None] = mapped_column(String(9))
    isbn: Mapped[str | None] = mapped_column(String(13))
    languages: Mapped[list[Any]] = mapped_column(default=list)
    licence: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    publisher: Mapped[Publisher | None] = relationship(back_populates="titles")
    aus: Mapped[list[ArchivalUnit]] = relationship(back_populates="title")


# Titles and publishers are listed by name a page at a time, after the last (lowered name, id) shown (revision 0017).
Index("ix_titles_sort_name", func.lower(Title.name), Title.id)
Index("ix_publishers_sort_name", func.lower(Publisher.name), Publisher.id)


class ArchivalUnit(Base):
    __tablename__ = "archival_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    title_id: Mapped[int] = mapped_column(ForeignKey("titles.id"), index=True)
    label: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(20), default="configured")
    object_id: Mapped[str] = mapped_column(String(400), unique=True)
    head_version: Mapped[int] = mapped_column(Integer, default=0)
    # How many items the AU holds, kept by whatever writes its items (the indexer), so that counts per title,
    # publisher and archive add up AUs instead of scanning millions of items.
    item_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Its items by volume, [[volume key, year, items], ...], kept likewise: title pages and the sitemap list
    # volumes from AUs, never from items.
    volumes: Mapped[list[Any]] = mapped_column(default=list)
    # Its issues, [[volume, issue, first date, first year], ...] (domain.volumes.issue_coverage), kept likewise:
    # holdings reports (KBART, ONIX-PH, DOAJ) read coverage from AUs, never from items.
    issues: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    released_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)  # by a released trigger only
    release_licence: Mapped[str | None] = mapped_column(String(500))
    release_trigger: Mapped[str | None] = mapped_column(String(20))
    # What the AU keeps about itself, written in the same transaction as the fact (revision 0016), so that the
    # console and ``network status`` read one row per AU and never scan files or events:
    # - its last fixity audit, when and whether intact (None: never audited); a scheduler asks for the AUs whose
    #   last audit is older than a date, hence the index;
    last_audit_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    last_audit_ok: Mapped[bool | None] = mapped_column()
    # - the files and bytes of its head version, kept by the indexer with its files;
    stored_files: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    stored_bytes: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # - its polls (domain.poll_summary): the last poll this node called and its outcome, the last conclusive
    #   audit by poll, and the alarms raised since, newest first.
    last_poll_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_poll_outcome: Mapped[str | None] = mapped_column(String(20))
    last_conclusive_poll_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    poll_alarms: Mapped[list[Any]] = mapped_column(default=list)

    title: Mapped[Title] = relationship(back_populates="aus")
    versions: Mapped[list[AUVersion]] = relationship(back_populates="au", order_by="AUVersion.number")


class TitleSummary(Base):
    """What the sitemap and KBART read of a title, one row per title that has AUs, rewritten from that title's AUs
    in the same transaction as any change to one of them (services.title_summaries; revision 0018), so that neither
    visits AUs: the sitemap's title and volume pages, and KBART's coverage under the one-copy rule."""

    __tablename__ = "title_summaries"

    title_id: Mapped[int] = mapped_column(ForeignKey("titles.id"), primary_key=True)
    # the latest release of its released AUs holding items (None: no released item, so no public page)
    last_released: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # the volume keys those AUs keep, distinct and sorted, and how many (the sitemap index counts, never lists)
    volumes: Mapped[list[Any]] = mapped_column(default=list)
    volume_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # every AU of it released (KBART's access type and notes)
    released: Mapped[bool] = mapped_column(default=False, server_default="0")
    # its coverage runs as KBART writes them, of the issues preserved by the one-copy rule: [[first, last], ...],
    # an issue [volume, issue, date (ISO) or None, exact]; and how many runs (KBART reads titles with some)
    coverage: Mapped[list[Any]] = mapped_column(default=list)
    runs: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class AUVersion(Base):
    __tablename__ = "au_versions"
    __table_args__ = (UniqueConstraint("au_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    au_id: Mapped[int] = mapped_column(ForeignKey("archival_units.id"))
    number: Mapped[int] = mapped_column(Integer)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    message: Mapped[str] = mapped_column(Text, default="")
    agent: Mapped[str] = mapped_column(String(300), default="")
    files: Mapped[int] = mapped_column(Integer, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    new_files: Mapped[int] = mapped_column(Integer, default=0)
    new_bytes: Mapped[int] = mapped_column(BigInteger, default=0)

    au: Mapped[ArchivalUnit] = relationship(back_populates="versions")


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (UniqueConstraint("au_id", "item_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    au_id: Mapped[int] = mapped_column(ForeignKey("archival_units.id"), index=True)
    item_key: Mapped[str] = mapped_column(String(500))
    public_id: Mapped[str | None] = mapped_column(String(16), unique=True, index=True)  # always set by the indexer
    doi: Mapped[str | None] = mapped_column(String(300), index=True)
    title: Mapped[str] = mapped_column(Text)
    authors: Mapped[list[Any]] = mapped_column(default=list)
    publication_date: Mapped[dt.date | None] = mapped_column(Date)
    year: Mapped[int | None] = mapped_column(Integer)
    volume: Mapped[str | None] = mapped_column(String(50))
    issue: Mapped[str | None] = mapped_column(String(50))
    pages: Mapped[str | None] = mapped_column(String(50))
    abstract: Mapped[str | None] = mapped_column(Text)
    keywords: Mapped[list[Any]] = mapped_column(default=list)
    language: Mapped[str | None] = mapped_column(String(20))
    licence: Mapped[str | None] = mapped_column(String(500))
    item_type: Mapped[str] = mapped_column(String(40), default="research-article")
    url: Mapped[str | None] = mapped_column(String(2000))  # where the publisher showed it (harvested items)

    au: Mapped[ArchivalUnit] = relationship()
    files: Mapped[list[File]] = relationship(back_populates="item")


class File(Base):
    __tablename__ = "files"
    __table_args__ = (UniqueConstraint("au_id", "logical_path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    au_id: Mapped[int] = mapped_column(ForeignKey("archival_units.id"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"), index=True)
    logical_path: Mapped[str] = mapped_column(String(1000))
    size: Mapped[int] = mapped_column(BigInteger)
    sha512: Mapped[str] = mapped_column(String(128))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    media_type: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="other")
    source: Mapped[str] = mapped_column(String(20), default="deposit")
    version: Mapped[int] = mapped_column(Integer, default=1)

    item: Mapped[Item | None] = relationship(back_populates="files")


class Event(Base):
    """A PREMIS-style event: what happened (type, outcome, detail) to which object, by which agent, when."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_object", "object_type", "object_key"),
        Index("ix_events_object_key_time", "object_key", "time", "id"),  # strongroom events --au, newest first
        Index("ix_events_type_time", "type", "time", "id"),  # strongroom events --type, newest first (0017)
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    type: Mapped[str] = mapped_column(String(40), index=True)
    outcome: Mapped[str] = mapped_column(String(20))
    agent: Mapped[str] = mapped_column(String(300))
    time: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    object_type: Mapped[str] = mapped_column(String(40))
    object_key: Mapped[str] = mapped_column(String(400))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SearchQueue(Base):
    """Items whose search documents are to be written (or removed): filled in the same transaction that changes
    the items, emptied once the search engine has them, so a crash between the two never loses an update."""

    __tablename__ = "search_queue"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(Integer)


# The search engines' own tables (strongroom.search) live in the catalog's database but belong to the engines,
# which make them; autogenerate and the schema test skip them by name.
SEARCH_ENGINE_OBJECTS = ("searchindex_", "ix_searchindex_")


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    return not (name or "").startswith(SEARCH_ENGINE_OBJECTS)
