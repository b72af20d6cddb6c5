"""``strongroom items`` without opening the node (issue 16, a fast command line): a page of the item listing, or of
a search, read from the catalog on a connection that cannot write (a SQLite file with the standard library's
``sqlite3``, a PostgreSQL database with ``psycopg`` alone), and from the Tantivy index with the engine's own code; no
SQLAlchemy, no node, no store.

It answers only when the answer is exactly what :meth:`strongroom.services.browse.Browse.item_page` gives on an
opened node, and only when opening the node would do nothing first. :func:`item_page` returns None, and the caller
opens the node, when :func:`strongroom.services.lean_catalog.snapshot` says the node must be opened (another search
engine or store, an old schema, a write to recover, anything unreadable or unreachable), and for a search when:

- the search engine last fed is not ``tantivy``, its index is not there in the current schema (opening fills it),
  or the search queue holds items (opening brings the index up to date).

A listing without a query reads no search index, so it does not wait for one: a search queue to apply or an index to
fill is left to the next search, or the next command that opens the node.

The SQL is :mod:`strongroom.services.browse_views`' (the Core statements of services.browse, compiled for SQLite and
for PostgreSQL).

Must not import: SQLAlchemy, the catalog's engine, the node, the store, faces.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from strongroom.search.tantivy_layout import SCHEMA_FILE
from strongroom.services import lean_catalog
from strongroom.services.browse_views import (
    DATE_COLUMNS,
    ITEM_COLUMNS,
    ITEM_TOTAL_SQL,
    JSON_COLUMNS,
    ItemRow,
    Page,
    item_row,
    items_after_sql,
    items_in_sql,
    search_queued_sql,
)

# As search.registry names them (tests/cli/test_lean_items.py checks that it still does): that module imports
# SQLAlchemy.
TANTIVY_DIR = Path("search") / "tantivy"
LAST_ENGINE = Path("search") / "engine"
IN_BATCH = 500  # ids a statement of a search's hits binds (SQLite allows 32,766 variables, PostgreSQL 65,535)

_COLUMNS = (*ITEM_COLUMNS, "au", "journal")


def item_page(
    home: Path | None, query: str | None = None, *, limit: int | None = 50, offset: int = 0, after: int = 0
) -> Page[ItemRow] | None:
    """``Browse.item_page(query, limit=..., offset=..., after=...)`` of the node at ``home``, read without opening
    it; None when the node must be opened for it (see the module's docstring)."""
    try:
        with lean_catalog.snapshot(home) as catalog:
            if catalog is None:
                return None
            if query:
                return _search(
                    catalog.settings.home, catalog.settings.search_shards, catalog.reader, query, limit, offset
                )
            return _listing(catalog.reader, limit, offset, after)
    except lean_catalog.CANNOT_READ:
        return None  # opening the node reads it again, and says what is wrong


def _item(reader: lean_catalog.Reader, values: Sequence[Any]) -> ItemRow:
    """The row shown for a row of the listed items, its values converted as SQLAlchemy converts them on the
    reader's dialect (JSON documents, dates)."""
    row = dict(zip(_COLUMNS, values, strict=True))
    for name in JSON_COLUMNS:
        row[name] = reader.document(row[name])
    for name in DATE_COLUMNS:
        row[name] = reader.date(row[name])
    return item_row(SimpleNamespace(**row), au=row["au"], journal=row["journal"])


def _listing(reader: lean_catalog.Reader, limit: int | None, offset: int, after: int) -> Page[ItemRow]:
    """``Browse.item_page`` without a query."""
    (total,) = reader.first(ITEM_TOTAL_SQL) or (None,)
    # one row more than the page, as keyset.fetch_page reads it, to know whether another page follows
    fetched = reader.rows(*items_after_sql(after, None if limit is None else limit + 1, offset, reader.dialect))
    page = fetched[:limit]
    last_id = int(page[-1][0]) if len(fetched) > len(page) and page else None
    return Page(tuple(_item(reader, r) for r in page), int(total or 0), offset, limit, last_id)


def _search(
    home: Path, shards: int, reader: lean_catalog.Reader, query: str, limit: int | None, offset: int
) -> Page[ItemRow] | None:
    """``Browse.item_page`` with a query, asked of the Tantivy index as the node asks it (None: the node must open
    first)."""
    directory = home / TANTIVY_DIR
    marker = directory / SCHEMA_FILE
    if (home / LAST_ENGINE).read_text(encoding="utf-8").strip() != "tantivy" or not marker.is_file():
        return None
    if reader.first(*search_queued_sql(reader.dialect)) is not None:
        return None
    from strongroom.search.base import SearchQuery
    from strongroom.search.tantivy_index import TantivyIndex, stored_shards

    # TantivyIndex's own test of an index it opens as it is (in as many shards as the settings ask); any other it
    # would make anew
    if stored_shards(directory) != shards:
        return None
    index = TantivyIndex(directory, shards)
    if index.created:
        return None
    wanted = limit if limit is not None else max(index.count() - offset, 1)
    hits = index.search(SearchQuery(query, offset=offset, limit=wanted))
    found: dict[int, ItemRow] = {}
    for start in range(0, len(hits.ids), IN_BATCH):
        batch = hits.ids[start : start + IN_BATCH]
        found.update((r[0], _item(reader, r)) for r in reader.rows(*items_in_sql(batch, reader.dialect)))
    rows = tuple(found[i] for i in hits.ids if i in found)
    return Page(rows, hits.total, offset, limit, exact=hits.exact)
