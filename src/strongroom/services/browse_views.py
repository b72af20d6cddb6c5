"""The views an item listing answers with (:class:`Page` of :class:`ItemRow`), and the SQL that lists items on a
SQLite or PostgreSQL catalog: what :mod:`strongroom.services.browse` and the lean reader of ``strongroom items``
(:mod:`strongroom.services.lean_items`) share, importable without SQLAlchemy.

The SQL here is the text SQLAlchemy compiles for SQLite and for PostgreSQL (its psycopg dialect) from the Core
statements of :mod:`strongroom.services.browse` (``_LISTED_ITEMS`` and the statements ``Browse.item_page`` runs),
kept as text so that the lean reader runs it with the standard library's ``sqlite3`` or with ``psycopg`` alone;
tests/cli/test_lean_items.py checks each against ``str(statement.compile(dialect=...))`` for both dialects, so they
cannot drift apart. (The two texts differ in more than their placeholders: PostgreSQL's casts each parameter, quotes
no ``key`` and writes LIMIT and OFFSET otherwise.)

Must not import: SQLAlchemy, the catalog, the node, faces.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

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
    exact: bool = True  # False: ``total`` is the search engine's estimate (a search with very many matches)


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


def item_row(item: Any, *, au: str, journal: str, files: tuple[FileRow, ...] = ()) -> ItemRow:
    """The row shown for an item: ``item`` is a mapped :class:`Item` or a row of the listed items (the same column
    names: :data:`ITEM_COLUMNS`), ``au`` and ``journal`` its AU's key and its title's name."""
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
        au=au,
        journal=journal,
        abstract=item.abstract,
        keywords=tuple(item.keywords or ()),
        files=files,
    )


# The columns of ``items`` a listed item's row has, in order (then ``au`` and ``journal``).
ITEM_COLUMNS = (
    "id",
    "item_key",
    "doi",
    "title",
    "authors",
    "publication_date",
    "year",
    "volume",
    "issue",
    "pages",
    "language",
    "licence",
    "item_type",
    "abstract",
    "keywords",
)
# Those of them that SQLite keeps as text SQLAlchemy converts (psycopg gives them converted): JSON documents and dates
# (checked against the types of ``tables.items`` by tests/cli/test_lean_items.py).
JSON_COLUMNS = ("authors", "keywords")
DATE_COLUMNS = ("publication_date",)


# ``_LISTED_ITEMS`` (services.browse) compiled for SQLite, and for PostgreSQL (which does not quote ``key``).
def _listed_items_sql(key: str) -> str:
    return (
        "SELECT "
        + ", ".join(f"items.{name}" for name in ITEM_COLUMNS)
        + f", archival_units.{key} AS au, titles.name AS journal \n"
        "FROM items JOIN archival_units ON archival_units.id = items.au_id "
        "JOIN titles ON titles.id = archival_units.title_id"
    )


LISTED_ITEMS_SQL = _listed_items_sql('"key"')
PG_LISTED_ITEMS_SQL = _listed_items_sql("key")
# ``Browse.item_page``'s listing: the items after an id, in id order; then its LIMIT and OFFSET, when either is set
# (SQLite's LIMIT -1 is none), and the items of a search's hits by id (one ? an id).
ITEMS_AFTER_SQL = LISTED_ITEMS_SQL + " \nWHERE items.id > ? ORDER BY items.id"
LIMIT_OFFSET_SQL = "\n LIMIT ? OFFSET ?"
ITEMS_IN_SQL = LISTED_ITEMS_SQL + " \nWHERE items.id IN ({marks})"
# The same for PostgreSQL, as SQLAlchemy's psycopg dialect sends them: named parameters (psycopg's %(name)s), each
# cast to its column's type; a LIMIT or an OFFSET only when set (LIMIT ALL: an OFFSET without a LIMIT).
PG_ITEMS_AFTER_SQL = PG_LISTED_ITEMS_SQL + " \nWHERE items.id > %(id_1)s::INTEGER ORDER BY items.id"
PG_LIMIT_SQL = " \n LIMIT %(param_1)s::INTEGER"
PG_OFFSET_SQL = "\n LIMIT ALL OFFSET %(param_1)s::INTEGER"
PG_LIMIT_OFFSET_SQL = " \n LIMIT %(param_1)s::INTEGER OFFSET %(param_2)s::INTEGER"
PG_ITEMS_IN_SQL = PG_LISTED_ITEMS_SQL + " \nWHERE items.id IN ({marks})"
# The listing's total, added up from the AUs' kept counts (the same text on both).
ITEM_TOTAL_SQL = "SELECT sum(archival_units.item_count) AS sum_1 \nFROM archival_units"
# Whether anything waits in the search queue (node.py ``_search_queued``), with (1, 0) for its LIMIT and OFFSET.
SEARCH_QUEUED_SQL = "SELECT search_queue.id \nFROM search_queue" + LIMIT_OFFSET_SQL
PG_SEARCH_QUEUED_SQL = "SELECT search_queue.id \nFROM search_queue" + PG_LIMIT_SQL

Params = tuple[Any, ...] | dict[str, Any]  # SQLite's positional (?), or psycopg's named (%(name)s)


def items_after_sql(after: int, limit: int | None, offset: int, dialect: str = "sqlite") -> tuple[str, Params]:
    """The SQL and parameters of the items after the id ``after`` in id order, ``limit`` of them (None: all) from
    ``offset`` further on: ``Browse.item_page``'s statement as SQLAlchemy sends it to ``dialect``."""
    if dialect == "postgresql":
        if limit is None and not offset:
            return PG_ITEMS_AFTER_SQL, {"id_1": after}
        if not offset:
            return PG_ITEMS_AFTER_SQL + PG_LIMIT_SQL, {"id_1": after, "param_1": limit}
        if limit is None:
            return PG_ITEMS_AFTER_SQL + PG_OFFSET_SQL, {"id_1": after, "param_1": offset}
        return PG_ITEMS_AFTER_SQL + PG_LIMIT_OFFSET_SQL, {"id_1": after, "param_1": limit, "param_2": offset}
    if limit is None and not offset:
        return ITEMS_AFTER_SQL, (after,)
    return ITEMS_AFTER_SQL + LIMIT_OFFSET_SQL, (after, -1 if limit is None else limit, offset)


def items_in_sql(ids: Sequence[int], dialect: str = "sqlite") -> tuple[str, Params]:
    """The SQL and parameters of the listed items of ``ids`` (one or more), as SQLAlchemy sends it to ``dialect``."""
    if dialect == "postgresql":
        names = [f"id_1_{n}" for n in range(1, len(ids) + 1)]
        marks = ", ".join(f"%({name})s::INTEGER" for name in names)
        return PG_ITEMS_IN_SQL.format(marks=marks), dict(zip(names, ids, strict=True))
    return ITEMS_IN_SQL.format(marks=", ".join("?" * len(ids))), tuple(ids)


def search_queued_sql(dialect: str = "sqlite") -> tuple[str, Params]:
    """The SQL and parameters of node.py's question at every start: is anything queued for the search index?"""
    return (PG_SEARCH_QUEUED_SQL, {"param_1": 1}) if dialect == "postgresql" else (SEARCH_QUEUED_SQL, (1, 0))
