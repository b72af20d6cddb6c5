"""``strongroom items`` on the embedded default without opening the node (issue 16, a fast command line): a page of
the item listing, or of a search, read from a SQLite catalog with the standard library's ``sqlite3`` on a
connection that cannot write, and from the Tantivy index with the engine's own code; no SQLAlchemy, no node, no store.

It answers only when the answer is exactly what :meth:`strongroom.services.browse.Browse.item_page` gives on an
opened node, and only when opening the node would do nothing first. :func:`item_page` returns None, and the caller
opens the node, when :func:`strongroom.services.lean_catalog.snapshot` says the node must be opened (not the
embedded default, an old schema, a write to recover, anything unreadable), and for a search when:

- the search engine last fed is not ``tantivy``, its index is not there in the current schema (opening fills it),
  or the search queue holds items (opening brings the index up to date).

A listing without a query reads no search index, so it does not wait for one: a search queue to apply or an index to
fill is left to the next search, or the next command that opens the node.

The SQL is :mod:`strongroom.services.browse_views`' (the Core statements of services.browse, compiled for SQLite).

Must not import: SQLAlchemy, the catalog's engine, the node, the store, faces.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from strongroom.services import lean_catalog
from strongroom.services.browse_views import (
    DATE_COLUMNS,
    ITEM_COLUMNS,
    ITEM_TOTAL_SQL,
    JSON_COLUMNS,
    SEARCH_QUEUED_SQL,
    ItemRow,
    Page,
    item_row,
    items_after_sql,
    items_in_sql,
)

# As search.registry names them (tests/cli/test_lean_items.py checks that it still does): that module imports
# SQLAlchemy.
TANTIVY_DIR = Path("search") / "tantivy"
LAST_ENGINE = Path("search") / "engine"
IN_BATCH = 500  # ids a statement of a search's hits binds (SQLite allows 32,766 variables)

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
                return _search(catalog.settings.home, catalog.conn, query, limit, offset)
            return _listing(catalog.conn, limit, offset, after)
    except lean_catalog.CANNOT_READ:
        return None  # opening the node reads it again, and says what is wrong


def _item(values: Sequence[Any]) -> ItemRow:
    """The row shown for a row of the listed items, its values converted as SQLAlchemy converts them (JSON
    documents, dates)."""
    row = dict(zip(_COLUMNS, values, strict=True))
    for name in JSON_COLUMNS:
        if row[name] is not None:
            row[name] = json.loads(row[name])
    for name in DATE_COLUMNS:
        if row[name] is not None:
            row[name] = dt.date.fromisoformat(row[name])
    return item_row(SimpleNamespace(**row), au=row["au"], journal=row["journal"])


def _listing(conn: sqlite3.Connection, limit: int | None, offset: int, after: int) -> Page[ItemRow]:
    """``Browse.item_page`` without a query."""
    (total,) = conn.execute(ITEM_TOTAL_SQL).fetchone()
    # one row more than the page, as keyset.fetch_page reads it, to know whether another page follows
    sql, params = items_after_sql(after, None if limit is None else limit + 1, offset)
    fetched = conn.execute(sql, params).fetchall()
    page = fetched[:limit]
    last_id = int(page[-1][0]) if len(fetched) > len(page) and page else None
    return Page(tuple(_item(r) for r in page), int(total or 0), offset, limit, last_id)


def _search(home: Path, conn: sqlite3.Connection, query: str, limit: int | None, offset: int) -> Page[ItemRow] | None:
    """``Browse.item_page`` with a query, asked of the Tantivy index as the node asks it (None: the node must open
    first)."""
    directory = home / TANTIVY_DIR
    marker = directory / "strongroom-schema"
    if (home / LAST_ENGINE).read_text(encoding="utf-8").strip() != "tantivy" or not marker.is_file():
        return None
    if conn.execute(SEARCH_QUEUED_SQL, (1, 0)).fetchone() is not None:
        return None
    import tantivy

    from strongroom.search.base import SearchQuery
    from strongroom.search.tantivy_index import SCHEMA_VERSION, TantivyIndex

    # TantivyIndex's own test of an index it opens as it is; any other it would make anew
    if marker.read_text() != SCHEMA_VERSION or not tantivy.Index.exists(str(directory)):
        return None
    index = TantivyIndex(directory)
    if index.created:
        return None
    wanted = limit if limit is not None else max(index.count() - offset, 1)
    hits = index.search(SearchQuery(query, offset=offset, limit=wanted))
    found: dict[int, ItemRow] = {}
    for start in range(0, len(hits.ids), IN_BATCH):
        batch = hits.ids[start : start + IN_BATCH]
        found.update((r[0], _item(r)) for r in conn.execute(items_in_sql(len(batch)), batch))
    rows = tuple(found[i] for i in hits.ids if i in found)
    return Page(rows, hits.total, offset, limit, exact=hits.exact)
