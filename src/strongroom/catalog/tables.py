"""The archive's own tables as SQLAlchemy Core :class:`~sqlalchemy.Table` objects: publishers, titles, archival units
and their versions, items, files, events, the search queue, the title summaries and the journal of writes in flight.
The one definition of their columns: the ORM classes of :mod:`strongroom.catalog.models_core` are mapped onto these
tables, and every other table is declared on the same :data:`metadata`.

What only reads the archive, as the everyday listings do (``strongroom items``), selects from these tables on a
connection, without importing the ORM or declaring and configuring a mapper: in a short command those cost as much
as the rest of it together (docs/benchmarks.md, "The command line without the ORM").

Must not import: the ORM (``sqlalchemy.orm``), services, faces.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.types import TypeDecorator

from strongroom.domain.names import sort_key


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


metadata = MetaData()

# Columns are NOT NULL unless they say otherwise (``nullable=True``), as the mapped classes' annotations say.


def _id() -> Column[int]:
    return Column("id", Integer, primary_key=True)


def _required(name: str, type_: Any, *args: Any, **kwargs: Any) -> Column[Any]:
    return Column(name, type_, *args, nullable=False, **kwargs)


def _optional(name: str, type_: Any, *args: Any, **kwargs: Any) -> Column[Any]:
    return Column(name, type_, *args, nullable=True, **kwargs)


# A name's sort key (domain.names): compared as bytes on both backends (SQLite's binary comparison, PostgreSQL's
# "C" collation), so that the database orders keys as Python does.
SORT_KEY = String().with_variant(String(collation="C"), "postgresql")


def _sort_key_of_name(context: DefaultExecutionContext) -> str:
    return sort_key(context.get_current_parameters()["name"])  # type: ignore[no-untyped-call]  # (untyped in SQLAlchemy)


def _sort_key() -> Column[str]:
    """The ``sort_key`` of a row's name. An insert that gives no key gets the name's (ORM and Core alike); the
    mapped classes set it with every name they are given (models_core). There is no ``onupdate``: it would fire on
    updates that leave the name alone, so a Core UPDATE of ``name`` must set ``sort_key=sort_key(name)`` itself."""
    return _required("sort_key", SORT_KEY, default=_sort_key_of_name)


publishers = Table(
    "publishers",
    metadata,
    _id(),
    _required("key", String(200), unique=True),
    _required("name", String(500)),
    _sort_key(),
    _optional("country", String(2)),
    _optional("platform", String(100)),
    _required("status", String(20), default="active"),
    _required("created_at", UTCDateTime()),
)

titles = Table(
    "titles",
    metadata,
    _id(),
    _required("key", String(200), unique=True),
    _optional("publisher_id", Integer, ForeignKey("publishers.id"), index=True),
    _required("name", String(1000)),
    _sort_key(),
    _required("kind", String(20), default="journal"),
    _optional("issn_print", String(9), index=True),
    _optional("issn_online", String(9), index=True),
    _optional("issn_l", String(9)),
    _optional("isbn", String(13)),
    _required("languages", JSON, default=list),
    _optional("licence", String(500)),
    _required("created_at", UTCDateTime()),
)

# Titles and publishers are listed by name a page at a time, after the last (sort key, id) shown (revisions 0017
# and 0020, domain.names).
Index("ix_titles_sort_key", titles.c.sort_key, titles.c.id)
Index("ix_publishers_sort_key", publishers.c.sort_key, publishers.c.id)

archival_units = Table(
    "archival_units",
    metadata,
    _id(),
    _required("key", String(300), unique=True),
    _required("title_id", Integer, ForeignKey("titles.id"), index=True),
    _required("label", String(100)),
    _required("state", String(20), default="configured"),
    _required("object_id", String(400), unique=True),
    _required("head_version", Integer, default=0),
    # How many items the AU holds, kept by whatever writes its items (the indexer), so that counts per title,
    # publisher and archive add up AUs instead of scanning millions of items.
    _required("item_count", Integer, default=0, server_default="0"),
    # Its items by volume, [[volume key, year, items], ...], kept likewise: title pages and the sitemap list
    # volumes from AUs, never from items.
    _required("volumes", JSON, default=list),
    # Its issues, [[volume, issue, first date, first year], ...] (domain.volumes.issue_coverage), kept likewise:
    # holdings reports (KBART, ONIX-PH, DOAJ) read coverage from AUs, never from items.
    _required("issues", JSON, default=list),
    _required("created_at", UTCDateTime()),
    _required("updated_at", UTCDateTime()),
    _optional("released_at", UTCDateTime(), index=True),  # by a released trigger only
    _optional("release_licence", String(500)),
    _optional("release_trigger", String(20)),
    # What the AU keeps about itself, written in the same transaction as the fact (revision 0016), so that the
    # console and ``network status`` read one row per AU and never scan files or events:
    # - its last fixity audit, when and whether intact (None: never audited); a scheduler asks for the AUs whose
    #   last audit is older than a date, hence the index;
    _optional("last_audit_at", UTCDateTime(), index=True),
    _optional("last_audit_ok", Boolean),
    # - the files and bytes of its head version, kept by the indexer with its files;
    _required("stored_files", Integer, default=0, server_default="0"),
    _required("stored_bytes", BigInteger, default=0, server_default="0"),
    # - its polls (domain.poll_summary): the last poll this node called and its outcome, the last conclusive
    #   audit by poll, and the alarms raised since, newest first.
    _optional("last_poll_at", UTCDateTime()),
    _optional("last_poll_outcome", String(20)),
    _optional("last_conclusive_poll_at", UTCDateTime()),
    _required("poll_alarms", JSON, default=list),
)

# What the sitemap and KBART read of a title, one row per title that has AUs, rewritten from that title's AUs in the
# same transaction as any change to one of them (services.title_summaries; revision 0018), so that neither visits
# AUs: the sitemap's title and volume pages, and KBART's coverage under the one-copy rule.
title_summaries = Table(
    "title_summaries",
    metadata,
    Column("title_id", Integer, ForeignKey("titles.id"), primary_key=True),
    # the latest release of its released AUs holding items (None: no released item, so no public page)
    _optional("last_released", UTCDateTime()),
    # the volume keys those AUs keep, distinct and sorted, and how many (the sitemap index counts, never lists)
    _required("volumes", JSON, default=list),
    _required("volume_count", Integer, default=0, server_default="0"),
    # every AU of it released (KBART's access type and notes)
    _required("released", Boolean, default=False, server_default="0"),
    # its coverage runs as KBART writes them, of the issues preserved by the one-copy rule: [[first, last], ...],
    # an issue [volume, issue, date (ISO) or None, exact]; and how many runs (KBART reads titles with some)
    _required("coverage", JSON, default=list),
    _required("runs", Integer, default=0, server_default="0"),
)

au_versions = Table(
    "au_versions",
    metadata,
    _id(),
    _required("au_id", Integer, ForeignKey("archival_units.id")),
    _required("number", Integer),
    _required("created", UTCDateTime()),
    _required("message", Text, default=""),
    _required("agent", String(300), default=""),
    _required("files", Integer, default=0),
    _required("bytes", BigInteger, default=0),
    _required("new_files", Integer, default=0),
    _required("new_bytes", BigInteger, default=0),
    UniqueConstraint("au_id", "number"),
)

items = Table(
    "items",
    metadata,
    _id(),
    _required("au_id", Integer, ForeignKey("archival_units.id"), index=True),
    _required("item_key", String(500)),
    _optional("public_id", String(16), unique=True, index=True),  # always set by the indexer
    _optional("doi", String(300), index=True),
    _required("title", Text),
    _required("authors", JSON, default=list),
    _optional("publication_date", Date),
    _optional("year", Integer),
    _optional("volume", String(50)),
    _optional("issue", String(50)),
    _optional("pages", String(50)),
    _optional("abstract", Text),
    _required("keywords", JSON, default=list),
    _optional("language", String(20)),
    _optional("licence", String(500)),
    _required("item_type", String(40), default="research-article"),
    _optional("url", String(2000)),  # where the publisher showed it (harvested items)
    UniqueConstraint("au_id", "item_key"),
)

files = Table(
    "files",
    metadata,
    _id(),
    _required("au_id", Integer, ForeignKey("archival_units.id"), index=True),
    _optional("item_id", Integer, ForeignKey("items.id"), index=True),
    _required("logical_path", String(1000)),
    _required("size", BigInteger),
    _required("sha512", String(128)),
    _required("sha256", String(64), index=True),
    _required("media_type", String(200)),
    _required("role", String(20), default="other"),
    _required("source", String(20), default="deposit"),
    _required("version", Integer, default=1),
    UniqueConstraint("au_id", "logical_path"),
)

# PREMIS-style events: what happened (type, outcome, detail) to which object, by which agent, when.
events = Table(
    "events",
    metadata,
    _id(),
    _required("uuid", String(36), unique=True),
    _required("type", String(40), index=True),
    _required("outcome", String(20)),
    _required("agent", String(300)),
    _required("time", UTCDateTime(), index=True),
    _required("detail", Text, default=""),
    _required("object_type", String(40)),
    _required("object_key", String(400)),
    _required("data", JSON, default=dict),
    Index("ix_events_object", "object_type", "object_key"),
    Index("ix_events_object_key_time", "object_key", "time", "id"),  # strongroom events --au, newest first
    Index("ix_events_type_time", "type", "time", "id"),  # strongroom events --type, newest first (0017)
)

# Items whose search documents are to be written (or removed): filled in the same transaction that changes the
# items, emptied once the search engine has them, so a crash between the two never loses an update.
search_queue = Table(
    "search_queue",
    metadata,
    _id(),
    _required("item_id", Integer),
)

# The journal of writes in flight of a node whose catalog is PostgreSQL (services.journal_postgres): one row per write
# (a new version, or the release of a copy) from before the store is touched until the catalog knows the result. Its
# writer holds an advisory lock keyed by the token for as long as it lives, so every machine of the node can tell a
# live write from one whose writer died. Unused on SQLite (whose journal is files in the home), kept for one schema.
write_intents = Table(
    "write_intents",
    metadata,
    Column("token", String(32), primary_key=True),
    _required("object_id", String(400)),
    _required("kind", String(20)),  # "write" | "release"
    _required("host", String(255)),
    _required("pid", Integer),
    _required("created_at", UTCDateTime()),
)
